import { afterAll, expect, test } from "bun:test";
import { rmSync } from "node:fs";
import { tempDir } from "../support/harness";
import { productCommand, spawnServer } from "../support/spawn-server";

const dir = tempDir();
afterAll(() => rmSync(dir, { recursive: true, force: true }));
const ADMIN = "sk_admin_storage_module_e2e";

test("every storage module endpoint against a running server, with a real multipart client", async () => {
  const s = await spawnServer(productCommand("serve"), {
    env: { DATA_DIR: dir, ADMIN_API_KEY: ADMIN },
  });
  try {
    const call = async (method: string, path: string, key: string, body?: RequestInit["body"], json = true) => {
      const res = await fetch(s.url + path, {
        method,
        body,
        headers: { authorization: `Bearer ${key}`, ...(json && body ? { "content-type": "application/json" } : {}) },
      });
      return { status: res.status, body: (await res.json()) as any };
    };
    const org = (await call("POST", "/api/v1/admin/tenants", ADMIN, JSON.stringify({ name: "e2e-org" }))).body;
    const user = (
      await call(
        "POST",
        "/api/v1/tenant/keys",
        org.apiKey,
        JSON.stringify({ userId: "u-1", scopes: ["read", "write", "delete"] }),
      )
    ).body;
    await call("POST", "/api/v1/workspaces", org.apiKey, JSON.stringify({ name: "Data", slug: "data" }));

    const form = new FormData(); // fetch computes Content-Length for FormData bodies
    form.append("category", "data_source");
    form.append("bucket", "data");
    form.append("file", new File([new TextEncoder().encode("id,value\n1,2\n")], "numbers.csv", { type: "text/csv" }));
    const up = await call("POST", "/api/v1/storage/upload", user.apiKey, form, false);
    expect(up.status).toBe(200);
    expect(up.body).toMatchObject({
      userId: "u-1",
      bucket: "data",
      category: "data_source",
      contentType: "text/csv",
      size: 13,
      processingStatus: "completed",
    });
    const name = up.body.name as string;
    expect(name).toMatch(/^numbers_\d{8}_\d{6}_[0-9a-f]{8}\.csv$/);

    expect((await call("GET", "/api/v1/storage/buckets", user.apiKey)).body.buckets.map((b: any) => b.name)).toEqual([
      "default",
      "data",
    ]);
    expect(
      (await call("GET", "/api/v1/storage/buckets/data/objects", user.apiKey)).body.objects.map((o: any) => o.name),
    ).toEqual([name]);
    expect((await call("GET", "/api/v1/storage/files?limit=10", user.apiKey)).body).toMatchObject({
      total: 1,
      nextCursor: null,
    });
    expect((await call("GET", `/api/v1/storage/objects/${name}/metadata`, user.apiKey)).body.path).toBe(
      `organizations/${org.id}/files/u-1/${name}`,
    );
    const signed = (await call("GET", `/api/v1/storage/objects/${name}/presigned-url?expiresIn=300`, user.apiKey)).body;
    const dl = await fetch(signed.url.replace(/^http:\/\/localhost:\d+/, s.url));
    expect(await dl.text()).toBe("id,value\n1,2\n");
    expect((await call("GET", "/api/v1/storage/usage", org.apiKey)).body).toMatchObject({
      usedBytes: 13,
      fileCount: 1,
      byUser: [{ userId: "u-1", fileCount: 1, bytes: 13 }],
    });
    expect((await call("GET", "/api/v1/storage/quota", user.apiKey)).body).toMatchObject({
      quotaBytes: 524288000,
      maxFileSizeBytes: 104857600,
    });
    expect((await call("DELETE", `/api/v1/storage/objects/${name}`, user.apiKey)).body).toEqual({ success: true });
    expect((await call("GET", `/api/v1/storage/objects/${name}/metadata`, user.apiKey)).status).toBe(404);
    expect((await call("GET", "/api/v1/storage/usage", org.apiKey)).body.usedBytes).toBe(0);
  } finally {
    await s.stop();
  }
});
