import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { randomUUID } from "node:crypto";
import type { Repos } from "../../src/db/repos";
import { WEBHOOKS_WAKEUP } from "../../src/db/repos/webhooks.repo";
import { deliverDueWebhooks, webhookLeaseMs } from "../../src/jobs/webhook-delivery";
import { silentLogger } from "../../src/logger";
import { createTestDatabase, DIALECTS, seedTenant, type TestDatabase } from "../support/dialects";
import { startReceiver } from "../support/receiver";

// Several instances share one outbox (docs/architecture.md, "Jobs"): a delivery is claimed by one
// sender at a time under a lease, retaken only after the lease, and an outcome recorded under a
// lease that was lost is dropped. Each instance here is its own connection to one database.

const T0 = 1_800_000_000_000;

async function enqueue(
  repos: Repos,
  tenantId: string,
  n: number,
  opts: { url?: string; at?: number } = {},
): Promise<string[]> {
  const ids: string[] = [];
  for (let i = 0; i < n; i++) {
    const id = randomUUID();
    await repos.webhooks.insertDelivery({
      id,
      tenantId,
      event: "webhook.test",
      fileId: null,
      url: opts.url ?? "http://127.0.0.1:9/hook",
      payload: JSON.stringify({ i }),
      createdAt: opts.at ?? T0,
    });
    ids.push(id);
  }
  return ids;
}

for (const dialect of DIALECTS) {
  describe(`webhook leases (${dialect})`, () => {
    let db: TestDatabase;
    let a: Repos;
    let b: Repos;
    let tenantId: string;
    beforeAll(async () => {
      db = await createTestDatabase(dialect);
      a = (await db.open()).repos;
      b = (await db.open()).repos;
      tenantId = await seedTenant(a, T0);
    });
    afterAll(() => db?.close());

    test("two senders claiming from one outbox at once: every delivery is claimed exactly once", async () => {
      const ids = await enqueue(a, tenantId, 200);
      const claimedBy = new Map<string, number>();
      const claimer = async (repos: Repos, who: number) => {
        for (;;) {
          const got = await repos.webhooks.claimDue(T0 + 1, 7, T0 + 60_000);
          if (got.length === 0) return;
          for (const d of got) {
            expect(d).toMatchObject({ status: "delivering", leaseUntil: T0 + 60_000 });
            expect(claimedBy.has(d.id)).toBe(false);
            claimedBy.set(d.id, who);
          }
        }
      };
      await Promise.all([claimer(a, 1), claimer(b, 2), claimer(a, 3), claimer(b, 4)]);
      expect([...claimedBy.keys()].sort()).toEqual([...ids].sort());
      // Both instances took part (the claims interleave; neither waited for the other to finish).
      const byInstance = new Set([...claimedBy.values()].map((w) => w % 2));
      expect(byInstance.size).toBe(2);
      // Settle them so the next tests start from an empty outbox.
      for (const id of ids)
        expect(
          await a.webhooks.recordAttempt(
            id,
            T0 + 60_000,
            { status: "delivered", attempts: 1, lastError: null, lastStatus: null, deliveredAt: T0 + 2 },
            T0 + 2,
          ),
        ).toBe(true);
    });

    test("a delivery whose lease ended is retaken; before that, nobody else gets it", async () => {
      const [id] = await enqueue(a, tenantId, 1);
      const lease = T0 + 10_000;
      expect((await a.webhooks.claimDue(T0 + 1, 8, lease)).map((d) => d.id)).toEqual([id!]);
      // The claimer died mid-attempt: until its lease ends the delivery stays its own.
      expect(await b.webhooks.claimDue(lease - 1, 8, lease - 1 + 10_000)).toEqual([]);
      expect((await b.webhooks.dueBacklog(lease - 1)).count).toBe(0);
      expect((await b.webhooks.dueBacklog(lease)).count).toBe(1);
      const [retaken] = await b.webhooks.claimDue(lease, 8, lease + 10_000);
      expect(retaken).toMatchObject({ id, status: "delivering", attempts: 0, leaseUntil: lease + 10_000 });
      expect(
        await b.webhooks.recordAttempt(
          id!,
          lease + 10_000,
          { status: "delivered", attempts: 1, lastError: null, lastStatus: null, deliveredAt: lease + 5 },
          lease + 5,
        ),
      ).toBe(true);
      expect(await a.webhooks.byId(tenantId, id!)).toMatchObject({
        status: "delivered",
        attempts: 1,
        leaseUntil: null,
      });
    });

    test("an outcome recorded under a lost lease is dropped; the new holder's outcome stands", async () => {
      const [id] = await enqueue(a, tenantId, 1);
      const first = T0 + 10_000;
      await a.webhooks.claimDue(T0 + 1, 8, first);
      await b.webhooks.claimDue(first + 1, 8, first + 1 + 10_000);
      // The slow first sender comes back with a failure: stale, ignored.
      expect(
        await a.webhooks.recordAttempt(
          id!,
          first,
          { status: "pending", attempts: 1, nextAttemptAt: first + 1000, lastError: "HTTP 500", lastStatus: 500 },
          first + 2,
        ),
      ).toBe(false);
      expect(await a.webhooks.byId(tenantId, id!)).toMatchObject({
        status: "delivering",
        attempts: 0,
        lastError: null,
        leaseUntil: first + 1 + 10_000,
      });
      expect(
        await b.webhooks.recordAttempt(
          id!,
          first + 1 + 10_000,
          { status: "delivered", attempts: 1, lastError: null, lastStatus: null, deliveredAt: first + 3 },
          first + 3,
        ),
      ).toBe(true);
      // A late stale success can't flip it back either.
      expect(
        await a.webhooks.recordAttempt(
          id!,
          first,
          { status: "delivered", attempts: 1, lastError: null, lastStatus: null, deliveredAt: first + 4 },
          first + 4,
        ),
      ).toBe(false);
      expect(await a.webhooks.byId(tenantId, id!)).toMatchObject({ status: "delivered", deliveredAt: first + 3 });
    });

    test("two job runners on two connections send each delivery once", async () => {
      const rx = startReceiver(async () => {
        await Bun.sleep(5);
        return new Response("ok");
      });
      try {
        const ids = await enqueue(a, tenantId, 60, { url: rx.url, at: Date.now() });
        const clock = { now: () => Date.now() };
        const run = (repos: Repos) =>
          deliverDueWebhooks({
            repos,
            clock,
            logger: silentLogger,
            maxAttempts: 3,
            backoffMs: 1000,
            timeoutMs: 5000,
            allowPrivateNetworks: true,
            webhookSecretOf: async () => "whsec_plain",
            concurrency: 4,
          });
        const [na, nb] = await Promise.all([run(a), run(b)]);
        expect(na + nb).toBe(60);
        const sent = rx.received.map((r) => r.headers.get("x-storagebrain-delivery"));
        expect(sent.length).toBe(60);
        expect(new Set(sent).size).toBe(60);
        for (const id of ids) expect((await b.webhooks.byId(tenantId, id))?.status).toBe("delivered");
      } finally {
        rx.stop();
      }
    });

    // SQLite has one server process, woken in-process at commit (webhooks.service.ts): no NOTIFY.
    if (dialect === "pg")
      test("a committed outbox write wakes the other instance's listener; a rolled-back one doesn't", async () => {
        const { conn: listener } = await db.open();
        const got: string[] = [];
        if (!listener.listen) throw new Error("a PostgreSQL connection listens");
        const sub = await listener.listen(WEBHOOKS_WAKEUP.channel, (p) => got.push(p));
        try {
          await expect(
            a.tx(async () => {
              await enqueue(a, tenantId, 1);
              throw new Error("rolled back");
            }),
          ).rejects.toThrow("rolled back");
          await Bun.sleep(300);
          expect(got).toEqual([]);
          // Three events in one transaction: one wake-up, at commit.
          await a.tx(async () => {
            await enqueue(a, tenantId, 3);
            await Bun.sleep(200);
            expect(got).toEqual([]);
          });
          const end = Date.now() + 5000;
          while (got.length === 0 && Date.now() < end) await Bun.sleep(10);
          await Bun.sleep(100);
          expect(got).toEqual([WEBHOOKS_WAKEUP.payload]);
        } finally {
          await sub.close();
        }
      });

    test("the lease outlives the attempt timeout by 5 s", () => {
      expect(webhookLeaseMs(1500)).toBe(6500);
      expect(webhookLeaseMs(10_000)).toBe(15_000);
    });
  });
}
