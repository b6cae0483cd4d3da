import { afterAll, describe, expect, test } from "bun:test";
import type { Connection } from "../../src/db/connection";
import { migrate } from "../../src/db/migrate";
import { migratePostgres } from "../../src/db/pg/migrate";
import { openPostgresConnection } from "../../src/db/pg.connection";
import { createRepos } from "../../src/db/repos";
import { openSqlite } from "../../src/db/sqlite.connection";
import { type BucketRule, MemoryRateLimitStore, type RateLimitStore } from "../../src/domain/limits/rate-limit-store";
import { SharedRateLimitStore } from "../../src/domain/limits/shared-rate-limit-store";
import { createLogger } from "../../src/logger";
import { createTestPgDatabase, type TestPgDatabase } from "../support/pg";

// One contract for the rate-limit stores (domain/limits/rate-limit-store.ts): the in-memory one
// and the database one (shared by the instances of a PostgreSQL deployment) answer the same
// sequence of takes the same way.

const conns: Connection[] = [];
let pg: TestPgDatabase | null = null;
afterAll(async () => {
  for (const c of conns) await c.close();
  await pg?.drop();
});

function sqliteShared(): RateLimitStore {
  const conn = openSqlite(":memory:");
  migrate(conn.sqlite!);
  conns.push(conn);
  return new SharedRateLimitStore(createRepos(conn).rateLimits, createLogger("error"));
}

/** The store of a PostgreSQL deployment, over a database of this file's own (keys differ per test). */
async function pgShared(): Promise<RateLimitStore> {
  pg ??= await createTestPgDatabase();
  const conn = openPostgresConnection(pg.url, { max: 4 });
  await migratePostgres(conn.pg);
  conns.push(conn);
  return new SharedRateLimitStore(createRepos(conn).rateLimits, createLogger("error"));
}

const stores: [string, () => RateLimitStore | Promise<RateLimitStore>][] = [
  ["memory", () => new MemoryRateLimitStore()],
  ["database (SQLite connection)", sqliteShared],
  ["database (PostgreSQL connection)", pgShared],
];

const rule: BucketRule = { ratePerSecond: 2, burst: 3 };

describe.each(stores)("rate-limit store: %s", (_name, make) => {
  test("a full bucket gives `burst` takes, then refuses with Retry-After; time refills it", async () => {
    const s = await make();
    const t0 = 1_700_000_000_000;
    const states = [];
    for (let i = 0; i < 4; i++) states.push(await s.take("k", rule, t0));
    expect(states.map((x) => [x.ok, x.remaining])).toEqual([
      [true, 2],
      [true, 1],
      [true, 0],
      [false, 0],
    ]);
    expect(states[3]).toMatchObject({ limit: 3, retryAfterSeconds: 1 });
    expect(states[2]?.resetSeconds).toBe(2);
    // 2 tokens per second: after 500 ms one token is back, after 1.5 s all three.
    expect((await s.take("k", rule, t0 + 500)).ok).toBe(true);
    expect((await s.take("k", rule, t0 + 500)).ok).toBe(false);
    expect((await s.peek("k", rule, t0 + 2_000)).remaining).toBe(3);
    // Other keys have buckets of their own.
    expect((await s.take("other", rule, t0)).remaining).toBe(2);
  });

  test("peek takes nothing and reports whether `cost` tokens are there", async () => {
    const s = await make();
    const t0 = 1_700_000_000_000;
    expect(await s.peek("p", rule, t0)).toMatchObject({ ok: true, remaining: 3 });
    await s.take("p", rule, t0, 3);
    expect(await s.peek("p", rule, t0)).toMatchObject({ ok: false, remaining: 0 });
    expect((await s.peek("p", rule, t0 + 499)).ok).toBe(false);
    expect((await s.peek("p", rule, t0 + 500)).ok).toBe(true);
  });

  test("a clock behind the bucket's last take (another instance's) refills nothing, takes nothing extra", async () => {
    const s = await make();
    const t0 = 1_700_000_000_000;
    await s.take("c", rule, t0, 3);
    expect((await s.take("c", rule, t0 - 5_000)).ok).toBe(false);
  });
});
