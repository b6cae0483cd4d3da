/**
 * PostgreSQL driver choice (docs/decisions.md): drizzle over Bun's built-in `Bun.SQL` (bun-sql)
 * against drizzle over postgres-js, on the same throwaway database, alternating which goes first.
 * Each operation runs N times from C concurrent workers, each driver with a pool of C connections:
 * select by primary key, insert, and a transaction (select + conditional update, the shape of a
 * quota reservation). Prints one JSON line per driver and operation.
 *
 * Usage: bun bench/pg-driver.ts [--n 10000] [--c 16] [--rounds 2]   (PostgreSQL on 127.0.0.1:5432)
 */
import { SQL } from "bun";
import { eq, sql } from "drizzle-orm";
import { drizzle as drizzleBunSql } from "drizzle-orm/bun-sql";
import type { PgDatabase, PgQueryResultHKT } from "drizzle-orm/pg-core";
import { bigint, pgTable, text } from "drizzle-orm/pg-core";
import { drizzle as drizzlePostgresJs } from "drizzle-orm/postgres-js";
import postgres from "postgres";

const arg = (name: string, dflt: number) => {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 ? Number(process.argv[i + 1]) : dflt;
};
const N = arg("n", 10_000);
const C = arg("c", 16);
const ROUNDS = arg("rounds", 2);
const ADMIN_URL = "postgres://postgres@127.0.0.1:5432/postgres";

const accounts = pgTable("accounts", {
  id: text("id").primaryKey(),
  used: bigint("used", { mode: "number" }).notNull(),
  quota: bigint("quota", { mode: "number" }).notNull(),
});

type AnyPg = PgDatabase<PgQueryResultHKT, any>;

async function runConcurrent(n: number, c: number, op: (i: number) => Promise<unknown>) {
  let next = 0;
  const lat: number[] = [];
  const t0 = performance.now();
  await Promise.all(
    Array.from({ length: c }, async () => {
      for (let i = next++; i < n; i = next++) {
        const s = performance.now();
        await op(i);
        lat.push(performance.now() - s);
      }
    }),
  );
  const secs = (performance.now() - t0) / 1000;
  lat.sort((a, b) => a - b);
  const pct = (p: number) => Number((lat[Math.floor((lat.length - 1) * p)] ?? 0).toFixed(2));
  return { opsPerSec: Math.round(n / secs), p50ms: pct(0.5), p99ms: pct(0.99) };
}

async function measure(driver: string, db: AnyPg, round: number) {
  const ids = Array.from({ length: 1000 }, (_, i) => `acc_${i}`);
  const results = {
    select: await runConcurrent(N, C, (i) =>
      db
        .select()
        .from(accounts)
        .where(eq(accounts.id, ids[i % ids.length] as string)),
    ),
    insert: await runConcurrent(N, C, (i) =>
      db.insert(accounts).values({ id: `${driver}_${round}_${i}`, used: 0, quota: 1000 }),
    ),
    transaction: await runConcurrent(N, C, (i) =>
      db.transaction(async (tx) => {
        const id = ids[i % ids.length] as string;
        await tx.select().from(accounts).where(eq(accounts.id, id));
        await tx
          .update(accounts)
          .set({ used: sql`${accounts.used} + 1` })
          .where(sql`${accounts.id} = ${id} AND ${accounts.used} + 1 <= ${accounts.quota} + 1000000000`);
      }),
    ),
  };
  for (const [op, r] of Object.entries(results))
    process.stdout.write(`${JSON.stringify({ bench: "pg-driver", driver, round, op, n: N, c: C, ...r })}\n`);
}

const admin = new SQL(ADMIN_URL);
const dbName = `sb_bench_${process.pid}`;
await admin.unsafe(`CREATE DATABASE ${dbName}`);
const url = `postgres://postgres@127.0.0.1:5432/${dbName}`;
try {
  const bunClient = new SQL({ url, max: C });
  const pgjsClient = postgres(url, { max: C, onnotice: () => {} });
  const bunDb = drizzleBunSql({ client: bunClient }) as unknown as AnyPg;
  const pgjsDb = drizzlePostgresJs({ client: pgjsClient }) as unknown as AnyPg;
  await bunClient.unsafe("CREATE TABLE accounts (id text PRIMARY KEY, used bigint NOT NULL, quota bigint NOT NULL)");
  await bunClient.unsafe("INSERT INTO accounts SELECT 'acc_' || g, 0, 1000 FROM generate_series(0, 999) g");
  for (let round = 0; round < ROUNDS; round++) {
    const order: [string, AnyPg][] = [
      ["bun-sql", bunDb],
      ["postgres-js", pgjsDb],
    ];
    if (round % 2 === 1) order.reverse();
    for (const [name, db] of order) await measure(name, db, round);
  }
  await bunClient.close();
  await pgjsClient.end();
} finally {
  await admin.unsafe(`DROP DATABASE IF EXISTS ${dbName} WITH (FORCE)`);
  await admin.close();
}
