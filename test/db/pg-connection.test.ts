import { afterAll, beforeAll, expect, test } from "bun:test";
import { randomUUID } from "node:crypto";
import { sql } from "drizzle-orm";
import { migratePostgres } from "../../src/db/pg/migrate";
import { openPostgresConnection } from "../../src/db/pg.connection";
import { createRepos, type Repos } from "../../src/db/repos";
import { createTestPgDatabase, type TestPgDatabase } from "../support/pg";

// The transaction contract of src/db/connection.ts on PostgreSQL: SERIALIZABLE transactions on one
// pooled connection each, retried on serialization failures, with the same join/afterCommit
// behaviour as SQLite (test/db/sqlite-connection.test.ts).

let db: TestPgDatabase;
let conn: ReturnType<typeof openPostgresConnection>;
let repos: Repos;
beforeAll(async () => {
  db = await createTestPgDatabase();
  conn = openPostgresConnection(db.url);
  await migratePostgres(conn.pg);
  repos = createRepos(conn);
});
afterAll(async () => {
  await conn.close();
  await db.drop();
});

async function newTenant(quotaBytes: number): Promise<string> {
  const id = randomUUID();
  await repos.tenants.insert({
    id,
    name: `t-${id}`,
    apiKeyHash: id,
    keyPrefix: "sk_live_x",
    quotaBytes,
    allowedFileTypes: null,
    webhookSecret: "whsec_x",
    createdAt: Date.now(),
  });
  return id;
}

test("a transaction commits; a throw rolls every write of it back; a nested tx joins", async () => {
  await repos.tx(async () => {
    await repos.settings.set("a", "1");
    await repos.tx(() => repos.settings.set("b", "1"));
  });
  await expect(
    repos.tx(async () => {
      await repos.settings.set("a", "2");
      await repos.tx(() => repos.settings.set("b", "2"));
      throw new Error("boom");
    }),
  ).rejects.toThrow("boom");
  expect(await repos.settings.get("a")).toBe("1");
  expect(await repos.settings.get("b")).toBe("1");
});

test("a query prepared on the pool runs on the transaction's connection inside one", async () => {
  const tenantId = await newTenant(1_000);
  // tenants.byId is a prepared query: inside the transaction it must see the transaction's own
  // uncommitted write (it would not, run on another pooled connection), outside it must not.
  let release!: () => void;
  const gate = new Promise<void>((r) => {
    release = r;
  });
  let seenInside: string | undefined;
  const tx = repos.tx(async () => {
    await repos.tenants.update(tenantId, { name: "renamed-in-tx" }, Date.now());
    seenInside = (await repos.tenants.byId(tenantId))?.name;
    await gate;
  });
  await Bun.sleep(50);
  expect((await repos.tenants.byId(tenantId))?.name).toBe(`t-${tenantId}`);
  release();
  await tx;
  expect(seenInside).toBe("renamed-in-tx");
  expect((await repos.tenants.byId(tenantId))?.name).toBe("renamed-in-tx");
});

test("a transaction runs at SERIALIZABLE, a conditional one (tenantTx) at READ COMMITTED", async () => {
  const tenantId = await newTenant(1_000);
  const level = async () =>
    (await conn.rows<{ transaction_isolation: string }>(sql`SHOW transaction_isolation`))[0]?.transaction_isolation;
  expect(await repos.tx(level)).toBe("serializable");
  expect(await repos.tenantTx(tenantId, level)).toBe("read committed");
});

test("calls outside a transaction don't see its writes until it commits", async () => {
  let release!: () => void;
  const gate = new Promise<void>((r) => {
    release = r;
  });
  const tx = repos.tx(async () => {
    await repos.settings.set("pending", "x");
    await gate;
  });
  await Bun.sleep(50);
  expect(await repos.settings.get("pending")).toBeNull();
  release();
  await tx;
  expect(await repos.settings.get("pending")).toBe("x");
});

test("afterCommit runs after the commit only, once, even when the body was retried", async () => {
  const tenantId = await newTenant(1_000_000);
  // One process runs its transactions one at a time; conflicts come from other instances: a
  // second connection plays one.
  const other = openPostgresConnection(db.url);
  const others = createRepos(other);
  let effects = 0;
  let runs = 0;
  try {
    // Read-then-write on one row from 10 transactions at once, split over the two instances:
    // SERIALIZABLE makes the losers retry.
    await Promise.all(
      Array.from({ length: 10 }, (_, i) => {
        const r = i % 2 ? others : repos;
        return r.tx(async () => {
          runs++;
          const t = await r.tenants.byId(tenantId);
          await Bun.sleep(5);
          await r.tenants.update(tenantId, { name: `${t?.name}+` }, Date.now());
          r.afterCommit(() => effects++);
        });
      }),
    );
  } finally {
    await other.close();
  }
  expect(effects).toBe(10);
  expect(runs).toBeGreaterThan(10);
  expect((await repos.tenants.byId(tenantId))?.name).toEndWith("+".repeat(10));
});

test("40 concurrent reservations against one quota never overshoot it", async () => {
  const tenantId = await newTenant(10_000);
  const results = await Promise.all(
    Array.from({ length: 40 }, () =>
      repos.tx(async () => {
        if (!(await repos.quota.reserveTenant(tenantId, 1_000))) return false;
        await repos.quota.adjust({ tenantId, workspaceId: null }, -1_000, 1_000);
        return true;
      }),
    ),
  );
  expect(results.filter(Boolean).length).toBe(10);
  expect(await repos.tenants.byId(tenantId)).toMatchObject({ usedBytes: 10_000, reservedBytes: 0 });
});
