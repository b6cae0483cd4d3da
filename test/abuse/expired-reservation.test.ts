import { afterAll, beforeAll, expect } from "bun:test";
import { expireUploads } from "../../src/jobs/upload-expiry";
import { silentLogger } from "../../src/logger";
import { createHarness, type Harness, inProcessOnly, sampleContent } from "../support/harness";

/**
 * A reservation held by an upload that has expired must never refuse a new request, even before
 * the expiry job has run: the reservation step expires the tenant's due uploads and retries once.
 */
let h: Harness;
beforeAll(async () => {
  h = await createHarness({ UPLOAD_EXPIRY_SECONDS: 2 });
});
afterAll(() => h.close());
const clockTest = inProcessOnly("moves the ManualClock past the expiry and runs the job by hand");

const request = (key: string, size: number, workspaceId?: string) =>
  h.json("POST", "/api/v1/upload/request", {
    key,
    body: { fileType: "image/png", fileName: "p.png", fileSizeBytes: size, workspaceId },
  });
const quota = async (key: string) => (await h.json("GET", "/api/v1/tenant/quota", { key })).body;
const runJob = () =>
  expireUploads({
    repos: h.rt.repos,
    backend: h.rt.objects.backend,
    clock: h.clock,
    logger: silentLogger,
    stallGraceMs: 3_600_000,
  });

clockTest(
  "tenant quota held by a never-PUT upload: past its expiry a new request succeeds at once; released exactly once",
  async () => {
    const t = await h.createTenant({ quotaBytes: 10_000 });
    const old = await request(t.apiKey, 10_000);
    expect(old.status).toBe(200);
    const refused = await request(t.apiKey, 1000);
    expect(refused.status).toBe(403);
    expect(refused.body.error.code).toBe("QUOTA_EXCEEDED");

    h.clock.advance(2_001); // past expiry; the job has not run
    const fresh = await request(t.apiKey, 6000);
    expect(fresh.status).toBe(200);

    const oldFile = await h.json("GET", `/api/v1/files/${old.body.fileId}`, { key: t.apiKey });
    expect(oldFile.body).toMatchObject({ processingStatus: "failed", metadata: { failureReason: "expired" } });
    expect((await h.rt.repos.files.byId(old.body.fileId))?.reservedBytes).toBe(0);
    // Released once: only the new reservation is held, and the job finds nothing left to release.
    expect(await quota(t.apiKey)).toMatchObject({ reservedBytes: 6000, usedBytes: 0 });
    expect(await runJob()).toBe(0);
    expect(await quota(t.apiKey)).toMatchObject({ reservedBytes: 6000, usedBytes: 0 });
    expect((await h.rt.repos.tenants.byId(t.id))?.reservedBytes).toBe(6000);

    // The expired upload URL is dead; the new one works and is charged.
    const late = await h.req("PUT", old.body.presignedUrl, { body: sampleContent("image/png", 10_000) });
    expect(late.status).toBe(410);
    const put = await h.json("PUT", fresh.body.presignedUrl, { body: sampleContent("image/png", 6000) });
    expect(put.status).toBe(200);
    expect(await quota(t.apiKey)).toMatchObject({ reservedBytes: 0, usedBytes: 6000 });
  },
);

clockTest("workspace quota held by an expired upload: same, at workspace level", async () => {
  const t = await h.createTenant({ quotaBytes: 1_000_000 });
  const ws = await h.json("POST", "/api/v1/workspaces", {
    key: t.apiKey,
    body: { name: "W", slug: "w", quotaBytes: 4000 },
  });
  const old = await request(t.apiKey, 4000, ws.body.id);
  expect(old.status).toBe(200);
  expect((await request(t.apiKey, 100, ws.body.id)).status).toBe(403);
  h.clock.advance(2_001);
  const fresh = await request(t.apiKey, 3000, ws.body.id);
  expect(fresh.status).toBe(200);
  expect((await h.rt.repos.files.byId(old.body.fileId))?.processingStatus).toBe("failed");
  expect((await h.rt.repos.workspaces.liveById(t.id, ws.body.id))?.reservedBytes).toBe(3000);
  expect((await h.rt.repos.tenants.byId(t.id))?.reservedBytes).toBe(3000);
  expect(await runJob()).toBe(0);
  expect((await h.rt.repos.workspaces.liveById(t.id, ws.body.id))?.reservedBytes).toBe(3000);
});

clockTest("a quota that is really full still answers QUOTA_EXCEEDED (nothing due to expire)", async () => {
  const t = await h.createTenant({ quotaBytes: 5000 });
  expect((await request(t.apiKey, 5000)).status).toBe(200);
  h.clock.advance(1_000); // not yet expired
  const r = await request(t.apiKey, 1);
  expect(r.status).toBe(403);
  expect(r.body.error.details).toMatchObject({ scope: "tenant", reservedBytes: 5000 });
});
