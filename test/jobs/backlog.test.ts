import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { measureBacklogs } from "../../src/jobs/backlog";
import { purgeDeleted } from "../../src/jobs/purge";
import { expireUploads } from "../../src/jobs/upload-expiry";
import { deliverDueWebhooks } from "../../src/jobs/webhook-delivery";
import { createLogger } from "../../src/logger";
import { createHarness, type Harness, inProcessOnly, sampleContent, TEST_DB } from "../support/harness";

/** The jobs run by hand here; against the binary its own scheduler would race them. */
const jobTest = inProcessOnly("runs the job by hand (ManualClock), which the binary's own scheduler would race");

import { startReceiver } from "../support/receiver";

// The jobs must drain whatever is due in one run (a run used to take one batch, so a steady abandon
// rate above batch/interval grew a backlog that held quota for minutes), yield to requests between
// batches, and say when they found a backlog.

// PostgreSQL: every upload's transactions move one tenant's counters, a hot row that SERIALIZABLE
// transactions take one at a time (retrying the rest), so its runs set up a fifth of the rows in
// the same number of batches (2,000 took 70 s of the 120 s timeout on a loaded machine).
const PG = TEST_DB === "postgres";
const EXPIRY_N = PG ? 400 : 2000;

const EXPIRY_S = 900;
const RETENTION_S = 3600;
const GRACE_MS = 3_600_000;

let h: Harness;
let lines: Record<string, any>[];
const logger = createLogger("info", (l) => lines.push(JSON.parse(l)));

beforeAll(async () => {
  h = await createHarness({
    UPLOAD_EXPIRY_SECONDS: EXPIRY_S,
    DELETED_RETENTION_SECONDS: RETENTION_S,
    WEBHOOK_ALLOW_PRIVATE_NETWORKS: true,
  });
});
afterAll(() => h.close());

const backlogs = () =>
  measureBacklogs(h.rt.repos, { now: h.clock.now(), stallGraceMs: GRACE_MS, retentionSeconds: RETENTION_S });

/** Runs `fn` over 0..n-1, `width` at a time (in-process requests; keeps setup quick). */
async function inParallel(n: number, width: number, fn: (i: number) => Promise<void>) {
  for (let i = 0; i < n; i += width) {
    await Promise.all(Array.from({ length: Math.min(width, n - i) }, (_, k) => fn(i + k)));
  }
}

describe("upload expiry drains its backlog", () => {
  jobTest(
    `${EXPIRY_N} due uploads: one run expires all, releases every reservation, and lets requests in between`,
    async () => {
      const t = await h.createTenant({ quotaBytes: 100_000_000 });
      const ws = await h.json("POST", "/api/v1/workspaces", {
        key: t.apiKey,
        body: { name: "W", slug: "w", quotaBytes: 50_000_000 },
      });
      const ids: string[] = [];
      await inParallel(EXPIRY_N, 50, async (i) => {
        const r = await h.json("POST", "/api/v1/upload/request", {
          key: t.apiKey,
          body: {
            fileType: "image/png",
            fileName: "p.png",
            fileSizeBytes: 1000,
            ...(i % 2 ? { workspaceId: ws.body.id } : {}),
          },
        });
        expect(r.status).toBe(200);
        ids.push(r.body.fileId);
      });
      const quota = async () => (await h.json("GET", "/api/v1/tenant/quota", { key: t.apiKey })).body;
      expect((await quota()).reservedBytes).toBe(EXPIRY_N * 1000);

      h.clock.advance(EXPIRY_S * 1000 + 5_000);
      expect((await backlogs())["upload-expiry"]).toEqual({ count: EXPIRY_N, oldestOverdueMs: 5_000 });

      lines = [];
      const drain = expireUploads(
        { repos: h.rt.repos, backend: h.rt.objects.backend, clock: h.clock, logger, stallGraceMs: GRACE_MS },
        EXPIRY_N / 4,
      );
      // Requests made while the run goes on are answered before it ends, and one of them sees part
      // of the work done: the drain never holds the event loop (or the database) for 2,000 rows.
      let drained = false;
      const finished = drain.then((n) => {
        drained = true;
        return n;
      });
      let midway = await quota();
      while (midway.reservedBytes === EXPIRY_N * 1000 && !drained) midway = await quota();
      expect(drained).toBe(false);
      expect(midway.reservedBytes).toBeGreaterThan(0);
      expect(midway.reservedBytes).toBeLessThan(EXPIRY_N * 1000);
      expect(await finished).toBe(EXPIRY_N);

      // Every reservation released, on the tenant and on the workspace; every upload failed/expired.
      expect(await quota()).toMatchObject({ reservedBytes: 0, usedBytes: 0 });
      const w = await h.json("GET", `/api/v1/workspaces/${ws.body.id}`, { key: t.apiKey });
      expect(w.body).toMatchObject({ reservedBytes: 0, usedBytes: 0 });
      for (const id of ids) {
        const f = (await h.rt.repos.files.byId(id))!;
        expect(f.processingStatus).toBe("failed");
        expect(f.reservedBytes).toBe(0);
      }
      expect((await backlogs())["upload-expiry"]).toEqual({ count: 0, oldestOverdueMs: 0 });

      // The backlog was reported once, with its size and age; the run says how many batches it took.
      const backlogLines = lines.filter((l) => l.msg === "job backlog");
      expect(backlogLines).toHaveLength(1);
      expect(backlogLines[0]).toMatchObject({
        job: "upload-expiry",
        count: EXPIRY_N,
        oldestOverdueMs: 5_000,
        level: "info",
      });
      expect(lines.find((l) => l.msg === "uploads expired")).toMatchObject({ count: EXPIRY_N, batches: 4 });
    },
  );
});

describe("purge drains its backlog", () => {
  // s3rver is slow per object (~0.1 s for an upload and its delete here) and fails under wide
  // concurrency: against it the same drain runs over 80 files in batches of 10 (still eight
  // batches); the local disk gets the full 2,000.
  const s3 = process.env.STORAGE_BACKEND === "s3";
  const N = s3 ? 80 : PG ? 400 : 2000;
  const BATCH = s3 ? 10 : PG ? 50 : 200;
  jobTest(`${N} files past retention: one run removes every object and marks every row`, async () => {
    const t = await h.createTenant({ quotaBytes: 100_000_000 });
    const content = sampleContent("image/png", 64);
    const ids: string[] = [];
    await inParallel(N, s3 ? 4 : 50, async () => {
      const r = await h.json("POST", "/api/v1/upload/request", {
        key: t.apiKey,
        body: { fileType: "image/png", fileName: "p.png", fileSizeBytes: content.byteLength },
      });
      const put = await h.json("PUT", r.body.presignedUrl, { key: t.apiKey, body: content });
      expect(put.body.processingStatus).toBe("completed");
      expect((await h.json("DELETE", `/api/v1/files/${r.body.fileId}`, { key: t.apiKey })).status).toBe(200);
      ids.push(r.body.fileId);
    });
    const stored = async () => {
      const keys: string[] = [];
      for await (const k of h.rt.objects.backend.list(`t/${t.id}/`)) keys.push(k);
      return keys;
    };
    const keys = await Promise.all(ids.map(async (id) => (await h.rt.repos.files.byId(id))!.storageKey));
    expect((await stored()).sort()).toEqual(keys.sort());

    h.clock.advance(RETENTION_S * 1000 + 7_000);
    expect((await backlogs()).purge.count).toBe(N);
    expect((await backlogs()).purge.oldestOverdueMs).toBeGreaterThanOrEqual(7_000);

    lines = [];
    const drain = purgeDeleted(
      { repos: h.rt.repos, backend: h.rt.objects.backend, clock: h.clock, logger, retentionSeconds: RETENTION_S },
      BATCH,
    );
    // Other work runs while the drain is in progress and sees it part-done (purged rows marked,
    // more still due): the run yields between batches.
    let done = false;
    const result = drain.finally(() => {
      done = true;
    });
    const seen = new Set<number>();
    while (!done) {
      await new Promise((r) => setImmediate(r));
      seen.add((await backlogs()).purge.count);
    }
    expect(await result).toBe(N);
    expect([...seen].some((c) => c > 0 && c < N)).toBe(true);

    for (const id of ids) expect((await h.rt.repos.files.byId(id))!.purgedAt).not.toBeNull();
    expect(await stored()).toEqual([]);
    expect((await backlogs()).purge).toEqual({ count: 0, oldestOverdueMs: 0 });
    expect(lines.filter((l) => l.msg === "job backlog")).toEqual([expect.objectContaining({ job: "purge", count: N })]);
    expect(lines.find((l) => l.msg === "files purged")).toMatchObject({ count: N, batches: N / BATCH });
  });
});

describe("webhook sender drains its backlog", () => {
  jobTest("more due deliveries than the pool holds: one wake sends them all", async () => {
    const t = await h.createTenant();
    const rx = startReceiver();
    try {
      const n = 60; // the pool holds 8
      const now = h.clock.now();
      for (let i = 0; i < n; i++) {
        await h.rt.repos.webhooks.insertDelivery({
          id: crypto.randomUUID(),
          tenantId: t.id,
          event: "file.uploaded",
          fileId: null,
          url: rx.url,
          payload: JSON.stringify({ n: i }),
          createdAt: now,
        });
      }
      expect((await backlogs()).webhooks.count).toBe(n);
      lines = [];
      const sent = await deliverDueWebhooks({
        repos: h.rt.repos,
        clock: h.clock,
        logger,
        maxAttempts: 3,
        backoffMs: 1000,
        timeoutMs: 5000,
        allowPrivateNetworks: true,
        webhookSecretOf: h.services.tenants.webhookSecretOf,
      });
      expect(sent).toBe(n);
      expect(rx.received.map((r) => JSON.parse(r.body).n).sort((a, b) => a - b)).toEqual(
        Array.from({ length: n }, (_, i) => i),
      );
      const list = await h.json("GET", "/api/v1/webhooks/deliveries?limit=100", { key: t.apiKey });
      expect(list.body.deliveries.filter((d: any) => d.status === "delivered")).toHaveLength(n);
      expect((await backlogs()).webhooks).toEqual({ count: 0, oldestOverdueMs: 0 });
      expect(lines.find((l) => l.msg === "job backlog")).toMatchObject({ job: "webhooks", count: n - 8 });
    } finally {
      rx.stop();
    }
  });
});
