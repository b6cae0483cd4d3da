import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { randomUUID } from "node:crypto";
import { rmSync } from "node:fs";
import type { Repos } from "../../src/db/repos";
import { SWEEP_LEASE_MS } from "../../src/db/repos/file-sweeps.repo";
import type { FileRow } from "../../src/db/schema";
import { purgeDeleted } from "../../src/jobs/purge";
import { expireUploads } from "../../src/jobs/upload-expiry";
import { silentLogger } from "../../src/logger";
import { LocalBackend } from "../../src/storage/local.backend";
import { createTestDatabase, DIALECTS, seedTenant, type TestDatabase } from "../support/dialects";
import { faultyBackend } from "../support/faulty-backend";
import { tempDir } from "../support/harness";

// Upload expiry, purge and the tus sweep run in every instance at once (docs/architecture.md,
// "Jobs"): each unit of work must be ended exactly once — one failed row, one released
// reservation and one file.failed event per expired upload; one delete per purged object.

const T0 = 1_800_000_000_000;
const fixedClock = (t: number) => ({ now: () => t });

async function insertUpload(
  repos: Repos,
  tenantId: string,
  at: number,
  patch: Partial<FileRow> = {},
): Promise<FileRow> {
  const id = randomUUID();
  return repos.tx(async () => {
    expect(await repos.quota.reserveTenant(tenantId, 100)).toBe(true);
    return repos.files.insert({
      id,
      tenantId,
      workspaceId: null,
      originalName: "e.png",
      fileType: "image/png",
      sizeBytes: 100,
      context: null,
      tags: null,
      storageKey: `t/${tenantId}/${id.slice(0, 2)}/${id}`,
      reservedBytes: 100,
      webhookUrl: null,
      uploadExpiresAt: at + 1000,
      createdAt: at,
      ...patch,
    });
  });
}

/** What the webhook service writes inside the settling transaction: one outbox row per event. */
const outboxEvent = (repos: Repos) => async (f: FileRow) =>
  repos.webhooks.insertDelivery({
    id: randomUUID(),
    tenantId: f.tenantId,
    event: "file.failed",
    fileId: f.id,
    url: "http://127.0.0.1:9/hook",
    payload: "{}",
    createdAt: f.updatedAt,
  });

for (const dialect of DIALECTS) {
  describe(`sweeps shared by two instances (${dialect})`, () => {
    let db: TestDatabase;
    let a: Repos;
    let b: Repos;
    let dir: string;
    let backend: LocalBackend;
    beforeAll(async () => {
      db = await createTestDatabase(dialect);
      a = (await db.open()).repos;
      b = (await db.open()).repos;
      dir = tempDir("sb-sweeps-");
      backend = new LocalBackend(dir);
      await backend.init();
    });
    afterAll(async () => {
      await db?.close();
      rmSync(dir, { recursive: true, force: true });
    });

    test("two expiry runs at once: every due upload expired once, reservations released once, one file.failed each", async () => {
      const tenantId = await seedTenant(a, T0);
      const due: FileRow[] = [];
      for (let i = 0; i < 60; i++) due.push(await insertUpload(a, tenantId, T0));
      const notDue = await insertUpload(a, tenantId, T0 + 60_000);
      const run = (repos: Repos) =>
        expireUploads(
          {
            repos,
            backend,
            clock: fixedClock(T0 + 2000),
            logger: silentLogger,
            stallGraceMs: 3_600_000,
            onSettled: outboxEvent(repos),
            sweepObjects: false,
          },
          7,
        );
      const counts = await Promise.all([run(a), run(b), run(a), run(b)]);
      expect(counts.reduce((x, y) => x + y, 0)).toBe(60);
      for (const f of due) expect((await b.files.byId(f.id))?.processingStatus).toBe("failed");
      expect((await b.files.byId(notDue.id))?.processingStatus).toBe("pending");
      expect(await b.tenants.byId(tenantId)).toMatchObject({ reservedBytes: 100, usedBytes: 0 });
      const events = (await b.webhooks.page(tenantId, 100, {})).map((d) => d.fileId);
      expect(events.length).toBe(60);
      expect(new Set(events).size).toBe(60);
    });

    test("two purge runs at once: every object deleted once and every row purged once", async () => {
      const tenantId = await seedTenant(a, T0);
      const files: FileRow[] = [];
      for (let i = 0; i < 30; i++) {
        const f = await insertUpload(a, tenantId, T0, { processingStatus: "completed" });
        await backend.put(f.storageKey, new Response(new Uint8Array(16)).body!);
        expect(await a.files.softDelete(f.id, T0 + 10)).toBe(true);
        files.push(f);
      }
      const fa = faultyBackend(backend);
      const fb = faultyBackend(backend);
      const run = (repos: Repos, be: typeof fa) =>
        purgeDeleted(
          { repos, backend: be.backend, clock: fixedClock(T0 + 120_000), logger: silentLogger, retentionSeconds: 60 },
          4,
        );
      const counts = await Promise.all([run(a, fa), run(b, fb), run(a, fa), run(b, fb)]);
      expect(counts.reduce((x, y) => x + y, 0)).toBe(30);
      // Each object deleted by exactly one instance (two runs share each wrapper).
      expect(fa.calls.delete + fb.calls.delete).toBe(30);
      for (const f of files) {
        expect((await b.files.byId(f.id))?.purgedAt).toBe(T0 + 120_000);
        expect(await backend.stat(f.storageKey)).toBeNull();
      }
    });

    test("a claim held by an instance that died is retaken after its lease, not before", async () => {
      const tenantId = await seedTenant(a, T0);
      const f = await insertUpload(a, tenantId, T0, { processingStatus: "completed" });
      await a.files.softDelete(f.id, T0 + 10);
      const now = T0 + 120_000;
      expect((await a.fileSweeps.claimPurgeDue(now - 60_000, now, 10)).map((r) => r.id)).toEqual([f.id]);
      // `a` dies here, holding the claim.
      expect(await b.fileSweeps.claimPurgeDue(now - 60_000, now + SWEEP_LEASE_MS - 1, 10)).toEqual([]);
      const retaken = await b.fileSweeps.claimPurgeDue(now - 60_000, now + SWEEP_LEASE_MS, 10);
      expect(retaken.map((r) => r.id)).toEqual([f.id]);
      expect(await b.fileSweeps.markPurged([f.id], now + SWEEP_LEASE_MS)).toBe(1);
      // Marking twice (a slow first holder coming back) changes nothing.
      expect(await a.fileSweeps.markPurged([f.id], now + SWEEP_LEASE_MS + 5)).toBe(0);
      expect((await a.files.byId(f.id))?.purgedAt).toBe(now + SWEEP_LEASE_MS);
    });

    test("tus sweep claims: two instances get disjoint rows; a dead claimer's rows come back after the lease", async () => {
      const tenantId = await seedTenant(a, T0);
      const ids: string[] = [];
      for (let i = 0; i < 10; i++) {
        const f = await insertUpload(a, tenantId, T0);
        await a.tus.insert({
          fileId: f.id,
          tenantId,
          uploadLength: 100,
          wrappedKey: "w",
          keyId: "k",
          partsId: `p-${f.id}`,
          segmentsPerPart: 1,
          metadata: null,
          expiresAt: T0 + 1000,
          createdAt: T0,
        });
        ids.push(f.id);
      }
      const now = T0 + 2000;
      const [x, y] = await Promise.all([a.tus.claimSweepable(now, 6), b.tus.claimSweepable(now, 6)]);
      const got = [...x!, ...y!].map((u) => u.fileId);
      expect(new Set(got).size).toBe(got.length);
      expect(got.length).toBe(10);
      expect(await b.tus.claimSweepable(now + 1, 10)).toEqual([]);
      await a.tus.releaseSweep(ids[0]!);
      expect((await b.tus.claimSweepable(now + 2, 10)).map((u) => u.fileId)).toEqual([ids[0]!]);
      expect((await b.tus.claimSweepable(now + SWEEP_LEASE_MS, 20)).length).toBe(9);
    });
  });
}
