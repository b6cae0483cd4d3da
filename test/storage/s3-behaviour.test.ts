import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { createHarness, type Harness, sampleContent, tempDir } from "../support/harness";
import { sharedS3 } from "../support/s3";
import { inheritedEnv, productCommand } from "../support/spawn-server";

describe("S3 backend through the API", () => {
  let h: Harness;
  let t: { id: string; apiKey: string };
  let fileId: string;
  const content = sampleContent("image/png", 3 * 1024 * 1024 + 77);
  beforeAll(async () => {
    const s3 = await sharedS3();
    h = await createHarness(s3.settings(`behaviour-${Date.now()}/`));
    t = await h.createTenant({ quotaBytes: 10 ** 9 });
    const r = await h.json("POST", "/api/v1/upload/request", {
      key: t.apiKey,
      body: { fileType: "image/png", fileName: "big.png", fileSizeBytes: content.byteLength },
    });
    const put = await h.json("PUT", r.body.presignedUrl, { key: t.apiKey, body: new Blob([content]).stream() });
    expect(put.body.processingStatus).toBe("completed");
    fileId = r.body.fileId;
  });
  afterAll(() => h.close());

  test("the bucket holds only ciphertext", async () => {
    const s3 = await sharedS3();
    const key = (await h.rt.repos.files.byId(fileId))!.storageKey;
    const stored = await h.rt.objects.backend.get(key);
    const raw = Buffer.from(await new Response(stored).arrayBuffer());
    expect(raw.byteLength).toBe(content.byteLength + 4 * 16);
    expect(raw.includes(Buffer.from(content.subarray(5000, 5064)))).toBe(false);
    expect(s3.bucket).toBeTruthy();
  });

  test("300 downloads aborted early release their connections; normal downloads still work", async () => {
    const t0 = Date.now();
    for (let i = 0; i < 320; i++) {
      const res = await h.req("GET", `/api/v1/files/${fileId}/download`, {
        key: t.apiKey,
        headers: i % 2 ? { range: "bytes=1000-2000000" } : {},
      });
      const reader = res.body!.getReader();
      await reader.read();
      await reader.cancel();
    }
    console.log(`320 aborted S3 downloads in ${Date.now() - t0} ms`);
    const deadline = AbortSignal.timeout(10_000);
    for (let i = 0; i < 5; i++) {
      const res = await h.req("GET", `/api/v1/files/${fileId}/download`, {
        key: t.apiKey,
        headers: { range: "bytes=1048570-1048590" },
      });
      expect(res.status).toBe(206);
      expect(new Uint8Array(await res.arrayBuffer())).toEqual(content.subarray(1048570, 1048591));
      expect(deadline.aborted).toBe(false);
    }
    const full = await h.req("GET", `/api/v1/files/${fileId}/download`, { key: t.apiKey });
    expect(new Uint8Array(await full.arrayBuffer())).toEqual(content);
  });
});

describe("S3 unreachable", () => {
  test("PUT → 503 STORAGE_UNAVAILABLE, nothing charged; /ready 503; retry after recovery works", async () => {
    const h = await createHarness({
      STORAGE_BACKEND: "s3",
      S3_BUCKET: "nope",
      S3_ENDPOINT: "http://127.0.0.1:9",
      S3_FORCE_PATH_STYLE: true,
      AWS_ACCESS_KEY_ID: "x",
      AWS_SECRET_ACCESS_KEY: "y",
    });
    try {
      const t = await h.createTenant();
      const r = await h.json("POST", "/api/v1/upload/request", {
        key: t.apiKey,
        body: { fileType: "image/png", fileName: "a.png", fileSizeBytes: 2000 },
      });
      const t0 = Date.now();
      const put = await h.json("PUT", r.body.presignedUrl, { body: sampleContent("image/png", 2000) });
      expect(Date.now() - t0).toBeLessThan(15_000); // bounded retries
      expect(put.status).toBe(503);
      expect(put.body.error.code).toBe("STORAGE_UNAVAILABLE");
      const q = (await h.json("GET", "/api/v1/tenant/quota", { key: t.apiKey })).body;
      expect(q.usedBytes).toBe(0);
      expect((await h.json("GET", `/api/v1/files/${r.body.fileId}`, { key: t.apiKey })).body.processingStatus).toBe(
        "pending",
      );
      const ready = await h.json("GET", "/ready");
      expect(ready.status).toBe(503);
      expect(ready.body.checks.storage).toBe("unavailable");
    } finally {
      await h.close();
    }
  });

  test("doctor reports the S3 backend's state", async () => {
    const s3 = await sharedS3();
    const dir = tempDir();
    // Async spawn: s3rver runs in this process, so a blocking spawnSync would deadlock it.
    const doctor = async (extra: Record<string, unknown>) => {
      const env = {
        ...inheritedEnv(),
        DATA_DIR: dir,
        ADMIN_API_KEY: "sk_admin_doctor_s3_test",
        ...Object.fromEntries(Object.entries(extra).map(([k, v]) => [k, String(v)])),
      };
      const p = Bun.spawn(productCommand("doctor"), { env, stdout: "pipe" });
      return { code: await p.exited, out: await new Response(p.stdout).text() };
    };
    const ok = await doctor(s3.settings("doctor/"));
    expect(ok.out).toContain("ok   storage: s3");
    expect(ok.code).toBe(0);
    const bad = await doctor({ ...s3.settings("doctor/"), S3_BUCKET: "missing-bucket" });
    expect(bad.code).toBe(1);
    expect(bad.out).toContain("FAIL");
  });
});
