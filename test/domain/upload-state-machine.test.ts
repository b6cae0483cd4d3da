import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { createServices, type Services } from "../../src/app";
import type { TenantRow } from "../../src/db/schema";
import { AppError } from "../../src/domain/shared/errors";
import { sweepFailedObjects } from "../../src/jobs/upload-expiry";
import { silentLogger } from "../../src/logger";
import { EncryptedObjects } from "../../src/storage/encrypted-objects";
import { faultyBackend, objectExists } from "../support/faulty-backend";
import { createHarness, type Harness, inProcessOnly, sampleContent } from "../support/harness";

// The upload state machine and the quota rules at the domain seam: services called directly, over
// the real runtime (SQLite file, real local or S3 backend) with faults injected at the backend.
// The HTTP tests cover the same flows through routes; these pin down what each failure leaves.

const MiB = 1024 * 1024;
let h: Harness;
let s: Services;
let faulty: ReturnType<typeof faultyBackend>;

beforeAll(async () => {
  h = await createHarness();
  faulty = faultyBackend(h.rt.objects.backend);
  const objects = new EncryptedObjects(faulty.backend, h.rt.masterKey);
  s = createServices({ ...h.rt, objects });
});
afterAll(() => h.close());

async function newTenant(quotaBytes: number): Promise<TenantRow> {
  return (await s.tenants.create({ name: `dom-${crypto.randomUUID()}`, quotaBytes })).tenant;
}
const counters = async (t: TenantRow) => {
  const row = await h.rt.repos.tenants.byId(t.id);
  return { usedBytes: row?.usedBytes, reservedBytes: row?.reservedBytes };
};
const fileRow = async (id: string) => await h.rt.repos.files.byId(id);
const body = (bytes: Uint8Array) => new Response(bytes).body;
const png = (size: number) => sampleContent("image/png", size);

async function request(t: TenantRow, size: number, fileType = "image/png") {
  return s.uploads.request(t, { fileType, fileName: "a.png", fileSizeBytes: size });
}
async function put(t: TenantRow, fileId: string, bytes: Uint8Array) {
  return s.uploads.receive({ tenantId: t.id, fileId, body: body(bytes), contentLength: bytes.byteLength });
}
async function readBack(fileId: string): Promise<Uint8Array> {
  const row = await fileRow(fileId);
  if (!row) throw new Error("no row");
  const stream = await s.files.content(row).open({ start: 0, end: row.sizeBytes - 1 });
  return new Uint8Array(await new Response(stream).arrayBuffer());
}
const codeOf = async (p: Promise<unknown>) =>
  p.then(
    () => "resolved",
    (e) => (e instanceof AppError ? e.code : (e as Error).message),
  );

describe("state machine: pending → processing → completed | failed", () => {
  test("request reserves, a PUT of the declared bytes completes and charges exactly them", async () => {
    const t = await newTenant(10 * MiB);
    const r = await request(t, 3 * MiB + 5);
    expect((await fileRow(r.fileId))?.processingStatus).toBe("pending");
    expect(await counters(t)).toEqual({ usedBytes: 0, reservedBytes: 3 * MiB + 5 });
    const bytes = png(3 * MiB + 5);
    const done = await put(t, r.fileId, bytes);
    expect(done.status).toBe("completed");
    expect(await counters(t)).toEqual({ usedBytes: 3 * MiB + 5, reservedBytes: 0 });
    expect(await readBack(r.fileId)).toEqual(bytes);
    // completed is final
    expect(await codeOf(put(t, r.fileId, bytes))).toBe("CONFLICT");
  });

  test.each([
    ["the first write", { failWriteAtChunk: 1 }],
    ["the third write (after two stored segments)", { failWriteAtChunk: 3 }],
    ["close (the final flush/commit)", { failOnClose: true }],
  ] as const)(
    "a backend failing on %s leaves pending, nothing reserved, no object; a retry completes",
    async (_w, fault) => {
      const t = await newTenant(10 * MiB);
      const r = await request(t, 4 * MiB);
      const row = await fileRow(r.fileId);
      if (!row) throw new Error("no row");
      Object.assign(faulty.faults, fault);
      expect(await codeOf(put(t, r.fileId, png(4 * MiB)))).toMatch(/injected fault/);
      expect(await fileRow(r.fileId)).toMatchObject({ processingStatus: "pending", reservedBytes: 0, chargedBytes: 0 });
      expect(await counters(t)).toEqual({ usedBytes: 0, reservedBytes: 0 });
      expect(await objectExists(h.rt.objects.backend, row.storageKey)).toBe(false);

      const bytes = png(4 * MiB);
      expect((await put(t, r.fileId, bytes)).status).toBe("completed");
      expect(await counters(t)).toEqual({ usedBytes: 4 * MiB, reservedBytes: 0 });
      expect(await readBack(r.fileId)).toEqual(bytes);
    },
  );

  test("a short body is refused: pending, reservation released, retry with the full body completes", async () => {
    const t = await newTenant(MiB);
    const r = await request(t, 1000);
    const short = png(600);
    const code = await codeOf(
      s.uploads.receive({ tenantId: t.id, fileId: r.fileId, body: body(short), contentLength: null }),
    );
    expect(code).toBe("VALIDATION_ERROR");
    expect((await fileRow(r.fileId))?.processingStatus).toBe("pending");
    expect(await counters(t)).toEqual({ usedBytes: 0, reservedBytes: 0 });
    expect((await put(t, r.fileId, png(1000))).status).toBe("completed");
    expect(await counters(t)).toEqual({ usedBytes: 1000, reservedBytes: 0 });
  });

  test("content that isn't the declared type fails the upload; an object delete that fails is swept later", async () => {
    const t = await newTenant(MiB);
    const r = await request(t, 2000);
    const row = await fileRow(r.fileId);
    if (!row) throw new Error("no row");
    faulty.faults.failDeletes = 1;
    const failed = await put(t, r.fileId, new Uint8Array(2000).fill(7));
    expect(failed.status).toBe("failed");
    expect(await counters(t)).toEqual({ usedBytes: 0, reservedBytes: 0 });
    // The pipeline's own delete was the injected failure: the object is still there, unpurged.
    expect((await fileRow(r.fileId))?.purgedAt).toBeNull();
    expect(await objectExists(h.rt.objects.backend, row.storageKey)).toBe(true);
    await sweepFailedObjects({ repos: h.rt.repos, backend: faulty.backend, clock: h.clock, logger: silentLogger });
    expect(await objectExists(h.rt.objects.backend, row.storageKey)).toBe(false);
    expect((await fileRow(r.fileId))?.purgedAt).not.toBeNull();
    // failed is final
    expect(await codeOf(put(t, r.fileId, png(2000)))).toBe("CONFLICT");
  });

  inProcessOnly("moves the ManualClock past the expiry")("an upload past its expiry can't start", async () => {
    const t = await newTenant(MiB);
    const r = await request(t, 100);
    h.clock.advance(3_600_000);
    expect(await codeOf(put(t, r.fileId, png(100)))).toBe("UPLOAD_EXPIRED");
  });
});

describe("quota rules", () => {
  test("reservations count against the quota: requests beyond it are refused and hold nothing", async () => {
    const t = await newTenant(1000);
    await request(t, 600);
    expect(await codeOf(request(t, 401))).toBe("QUOTA_EXCEEDED");
    expect(await counters(t)).toEqual({ usedBytes: 0, reservedBytes: 600 });
    await request(t, 400); // exactly fills it
    expect(await codeOf(request(t, 1))).toBe("QUOTA_EXCEEDED");
  });

  test("a completed upload charges its bytes; deleting it gives them back at once", async () => {
    const t = await newTenant(1000);
    const r = await request(t, 900);
    await put(t, r.fileId, png(900));
    expect(await codeOf(request(t, 101))).toBe("QUOTA_EXCEEDED");
    await s.files.delete(t.id, r.fileId);
    expect(await counters(t)).toEqual({ usedBytes: 0, reservedBytes: 0 });
    expect(await codeOf(request(t, 1000))).toBe("resolved");
  });

  test("a workspace quota is enforced on top of the tenant's, and both are charged", async () => {
    const t = await newTenant(10_000);
    const w = await s.workspaces.create(t.id, {
      name: "W",
      slug: `w-${crypto.randomUUID().slice(0, 8)}`,
      quotaBytes: 500,
    });
    const req = async (size: number) =>
      s.uploads.request(t, { fileType: "image/png", fileName: "a.png", fileSizeBytes: size, workspaceId: w.id });
    expect(await codeOf(req(501))).toBe("QUOTA_EXCEEDED");
    const r = await req(500);
    await put(t, r.fileId, png(500));
    expect(await h.rt.repos.workspaces.liveById(t.id, w.id)).toMatchObject({ usedBytes: 500, reservedBytes: 0 });
    expect(await counters(t)).toEqual({ usedBytes: 500, reservedBytes: 0 });
    // Outside the workspace the tenant still has room.
    expect(await codeOf(request(t, 9000))).toBe("resolved");
  });

  test("recalculateUsage finds no drift after all of the above", async () => {
    const drift = await s.tenants.recalculateUsage();
    expect(drift).toEqual({ tenants: [], workspaces: [] });
  });
});
