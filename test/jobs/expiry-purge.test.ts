import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { createApp } from "../../src/app";
import { purgeDeleted } from "../../src/jobs/purge";
import { expireUploads, recoverInterruptedUploads } from "../../src/jobs/upload-expiry";
import { silentLogger } from "../../src/logger";
import { openRuntime } from "../../src/runtime";
import { faultyBackend, objectExists } from "../support/faulty-backend";
import { createHarness, type Harness, inProcessOnly, sampleContent } from "../support/harness";

/** Jobs are run by hand with a ManualClock here; against the binary its own scheduler runs them. */
const jobTest = inProcessOnly("runs the job by hand on a ManualClock");

let h: Harness;
beforeAll(async () => {
  h = await createHarness({ UPLOAD_EXPIRY_SECONDS: 900, DELETED_RETENTION_SECONDS: 3600 });
});
afterAll(() => h.close());

const expiryDeps = () => ({
  repos: h.rt.repos,
  backend: h.rt.objects.backend,
  clock: h.clock,
  logger: silentLogger,
  stallGraceMs: 3_600_000,
});
const purgeDeps = () => ({
  repos: h.rt.repos,
  backend: h.rt.objects.backend,
  clock: h.clock,
  logger: silentLogger,
  retentionSeconds: 3600,
});

async function completed(key: string, size: number) {
  const r = await h.json("POST", "/api/v1/upload/request", {
    key,
    body: { fileType: "image/png", fileName: "p.png", fileSizeBytes: size },
  });
  await h.json("PUT", r.body.presignedUrl, { key, body: sampleContent("image/png", size) });
  return (await h.rt.repos.files.byId(r.body.fileId))!;
}

describe("upload expiry", () => {
  jobTest("pending uploads past expiresAt fail with reason expired and release their reservation", async () => {
    const t = await h.createTenant({ quotaBytes: 10_000 });
    const r = await h.json("POST", "/api/v1/upload/request", {
      key: t.apiKey,
      body: { fileType: "image/png", fileName: "p.png", fileSizeBytes: 6000 },
    });
    expect((await h.json("GET", "/api/v1/tenant/quota", { key: t.apiKey })).body.reservedBytes).toBe(6000);
    h.clock.advance(899_000);
    expect(await expireUploads(expiryDeps())).toBe(0);
    h.clock.advance(1_000);
    expect(await expireUploads(expiryDeps())).toBeGreaterThanOrEqual(1);
    const f = await h.json("GET", `/api/v1/files/${r.body.fileId}`, { key: t.apiKey });
    expect(f.body).toMatchObject({ processingStatus: "failed", metadata: { failureReason: "expired" } });
    expect((await h.json("GET", "/api/v1/tenant/quota", { key: t.apiKey })).body).toMatchObject({
      reservedBytes: 0,
      usedBytes: 0,
    });
    expect(await expireUploads(expiryDeps())).toBe(0); // idempotent
    const late = await h.json("PUT", r.body.presignedUrl.split("?")[0], {
      key: t.apiKey,
      body: sampleContent("image/png", 6000),
    });
    expect(late.status).toBe(410);
    expect(late.body.error.code).toBe("UPLOAD_EXPIRED");
    // the freed quota is usable again
    expect(
      (
        await h.json("POST", "/api/v1/upload/request", {
          key: t.apiKey,
          body: { fileType: "image/png", fileName: "p.png", fileSizeBytes: 10_000 },
        })
      ).status,
    ).toBe(200);
  });

  jobTest("uploads stuck mid-PUT past the grace period are expired; a restart reopens interrupted ones", async () => {
    const t = await h.createTenant({ quotaBytes: 10_000 });
    const r = await h.json("POST", "/api/v1/upload/request", {
      key: t.apiKey,
      body: { fileType: "image/png", fileName: "p.png", fileSizeBytes: 100 },
    });
    expect((await h.rt.repos.files.claimUpload(r.body.fileId, h.clock.now()))?.processingStatus).toBe("processing"); // as if a PUT started and the server died
    expect(await recoverInterruptedUploads(h.rt.repos, h.clock)).toBeGreaterThanOrEqual(1);
    expect((await h.rt.repos.files.byId(r.body.fileId))!.processingStatus).toBe("pending");
    const put = await h.json("PUT", r.body.presignedUrl, { body: sampleContent("image/png", 100) });
    expect(put.body.processingStatus).toBe("completed");

    const r2 = await h.json("POST", "/api/v1/upload/request", {
      key: t.apiKey,
      body: { fileType: "image/png", fileName: "p.png", fileSizeBytes: 100 },
    });
    await h.rt.repos.files.claimUpload(r2.body.fileId, h.clock.now());
    h.clock.advance(3_600_001);
    await expireUploads(expiryDeps());
    expect((await h.rt.repos.files.byId(r2.body.fileId))!.processingStatus).toBe("failed");
    expect((await h.json("GET", "/api/v1/tenant/quota", { key: t.apiKey })).body).toMatchObject({
      reservedBytes: 0,
      usedBytes: 100,
    });
  });
});

describe("objects left by failed uploads", () => {
  jobTest("an object delete that fails during expiry is retried on the next run until it succeeds", async () => {
    const t = await h.createTenant({ quotaBytes: 10_000 });
    const r = await h.json("POST", "/api/v1/upload/request", {
      key: t.apiKey,
      body: { fileType: "image/png", fileName: "p.png", fileSizeBytes: 100 },
    });
    const row = (await h.rt.repos.files.byId(r.body.fileId))!;
    // What a crash after the object was stored but before the upload settled leaves behind: an
    // object under the key of an upload that restarts as pending and then expires.
    await h.rt.objects.backend.put(row.storageKey, new Response(new Uint8Array(64)).body!);
    const faulty = faultyBackend(h.rt.objects.backend);
    faulty.faults.failDeletes = 2;
    h.clock.advance(900_001);

    await expireUploads({ ...expiryDeps(), backend: faulty.backend });
    expect(await h.rt.repos.files.byId(row.id)).toMatchObject({ processingStatus: "failed", purgedAt: null });
    expect(await objectExists(h.rt.objects.backend, row.storageKey)).toBe(true);
    await expireUploads({ ...expiryDeps(), backend: faulty.backend }); // the second injected failure
    expect(await objectExists(h.rt.objects.backend, row.storageKey)).toBe(true);

    await expireUploads({ ...expiryDeps(), backend: faulty.backend });
    expect(await objectExists(h.rt.objects.backend, row.storageKey)).toBe(false);
    expect((await h.rt.repos.files.byId(row.id))!.purgedAt).toBe(h.clock.now());
    expect(faulty.calls.failedDeletes).toBe(2);
    // Purged rows are not visited again.
    const deletes = faulty.calls.delete;
    await expireUploads({ ...expiryDeps(), backend: faulty.backend });
    expect(faulty.calls.delete).toBe(deletes);
    // The row itself stays visible as a failed upload (no behaviour change for the API).
    expect((await h.json("GET", `/api/v1/files/${row.id}`, { key: t.apiKey })).body.processingStatus).toBe("failed");
  });
});

describe("crash recovery of multipart uploads", () => {
  test("a storage-module upload interrupted by a crash fails and releases its reservation", async () => {
    const t = await h.createTenant({ quotaBytes: 10_000 });
    const now = h.clock.now();
    const id = crypto.randomUUID();
    await h.rt.repos.tx(async () => {
      expect(await h.rt.repos.quota.reserveTenant(t.id, 5000)).toBe(true);
      await h.rt.repos.files.insert({
        id,
        tenantId: t.id,
        workspaceId: null,
        originalName: "m.csv",
        fileType: "text/csv",
        sizeBytes: 0,
        context: null,
        tags: null,
        storageKey: `t/${t.id}/${id.slice(0, 2)}/${id}`,
        reservedBytes: 5000,
        webhookUrl: null,
        uploadExpiresAt: now + 900_000,
        processingStatus: "processing",
        uploadStartedAt: now,
        createdAt: now,
        userId: "u",
        category: "data_source",
      });
    });
    await recoverInterruptedUploads(h.rt.repos, h.clock);
    expect(await h.rt.repos.files.byId(id)).toMatchObject({
      processingStatus: "failed",
      metadata: { failureReason: "interrupted" },
      reservedBytes: 0,
    });
    expect((await h.json("GET", "/api/v1/tenant/quota", { key: t.apiKey })).body).toMatchObject({
      reservedBytes: 0,
      usedBytes: 0,
    });
  });
});

describe("purge", () => {
  jobTest("objects of files deleted longer than the retention are removed and rows marked purged", async () => {
    const t = await h.createTenant({ quotaBytes: 100_000 });
    const a = await completed(t.apiKey, 500);
    const b = await completed(t.apiKey, 600);
    await h.json("DELETE", `/api/v1/files/${a.id}`, { key: t.apiKey });
    h.clock.advance(3_599_000);
    await purgeDeleted(purgeDeps());
    expect(await objectExists(h.rt.objects.backend, a.storageKey)).toBe(true); // not yet due
    h.clock.advance(1_000);
    expect(await purgeDeleted(purgeDeps())).toBeGreaterThanOrEqual(1);
    expect(await objectExists(h.rt.objects.backend, a.storageKey)).toBe(false);
    expect((await h.rt.repos.files.byId(a.id))!.purgedAt).not.toBeNull();
    expect(await objectExists(h.rt.objects.backend, b.storageKey)).toBe(true); // live files untouched
  });

  jobTest("a restart in the middle of a purge loses nothing and leaves no orphan", async () => {
    const t = await h.createTenant({ quotaBytes: 100_000 });
    const files = [];
    for (let i = 0; i < 5; i++) files.push(await completed(t.apiKey, 300 + i));
    const keep = await completed(t.apiKey, 999);
    for (const f of files) await h.json("DELETE", `/api/v1/files/${f.id}`, { key: t.apiKey });
    h.clock.advance(3_600_000);
    // "Crash" mid-purge: two objects were deleted but their rows never got marked.
    await h.rt.objects.backend.delete(files[0]!.storageKey);
    await h.rt.objects.backend.delete(files[1]!.storageKey);

    // Restart: a second runtime on the same data dir and database.
    const rt2 = await openRuntime(h.rt.config, silentLogger, h.clock);
    try {
      await purgeDeleted({
        repos: rt2.repos,
        backend: rt2.objects.backend,
        clock: h.clock,
        logger: silentLogger,
        retentionSeconds: 3600,
      });
      for (const f of files) {
        expect((await rt2.repos.files.byId(f.id))!.purgedAt).not.toBeNull();
        expect(await objectExists(rt2.objects.backend, f.storageKey)).toBe(false);
      }
      // no orphans: every stored object of this tenant belongs to a live row
      const stored: string[] = [];
      for await (const k of rt2.objects.backend.list(`t/${t.id}/`)) stored.push(k);
      expect(stored).toEqual([keep.storageKey]);
      const app2 = createApp(rt2);
      const dl = await app2.handle(
        new Request(`http://localhost/api/v1/files/${keep.id}/download`, {
          headers: { authorization: `Bearer ${t.apiKey}` },
        }),
      );
      expect(new Uint8Array(await dl.arrayBuffer())).toEqual(sampleContent("image/png", 999));
    } finally {
      await rt2.close();
    }
  });
});
