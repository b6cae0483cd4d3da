import { randomUUID } from "node:crypto";
import { rmSync } from "node:fs";
import { join } from "node:path";
import type { Connection, Dialect } from "../../src/db/connection";
import { migrate } from "../../src/db/migrate";
import { migratePostgres } from "../../src/db/pg/migrate";
import { openPostgresConnection } from "../../src/db/pg.connection";
import { createRepos, type Repos } from "../../src/db/repos";
import { openSqlite } from "../../src/db/sqlite.connection";
import { tempDir } from "./harness";
import { createTestPgDatabase } from "./pg";

/**
 * One empty, migrated metadata database of either dialect, which several instances can open at
 * once: each `open()` is what one more instance of the deployment would have (PostgreSQL: another
 * pool; SQLite: see below). For repository and job tests that must hold
 * on both dialects (`for (const dialect of DIALECTS) describe(dialect, ...)`).
 */
export interface TestDatabase {
  dialect: Dialect;
  open(): Promise<{ conn: Connection; repos: Repos }>;
  /** Closes every connection opened and removes the database. */
  close(): Promise<void>;
}

export const DIALECTS: readonly Dialect[] = ["sqlite", "pg"];

export async function createTestDatabase(dialect: Dialect): Promise<TestDatabase> {
  if (dialect === "sqlite") {
    // One server process per SQLite database is the deployment model, and a second handle on the
    // file in this process would block the thread in busy_timeout while the first awaits inside a
    // transaction. So every "instance" is another set of repositories over the one connection:
    // concurrent job runners in one process, serialized by its lock, which is what SQLite has.
    const dir = tempDir("sb-db-");
    const conn = openSqlite(join(dir, "meta.db"));
    migrate(conn.sqlite!);
    return {
      dialect,
      async open() {
        return { conn, repos: createRepos(conn) };
      },
      async close() {
        await conn.close();
        rmSync(dir, { recursive: true, force: true });
      },
    };
  }
  return createPgTestDatabase();
}

/** A fresh PostgreSQL database (test/support/pg.ts); every `open()` is another instance's pool. */
async function createPgTestDatabase(): Promise<TestDatabase> {
  const db = await createTestPgDatabase();
  const opened: Connection[] = [];
  const connect = () => {
    const conn = openPostgresConnection(db.url);
    opened.push(conn);
    return conn;
  };
  await migratePostgres(connect().pg);
  return {
    dialect: "pg",
    async open() {
      const conn = connect();
      return { conn, repos: createRepos(conn) };
    },
    async close() {
      for (const c of opened) await c.close();
      await db.drop();
    },
  };
}

/** A tenant row to hang test rows on (quota 1 GB, counters at 0); returns its id. */
export async function seedTenant(repos: Repos, createdAt = Date.now()): Promise<string> {
  const id = randomUUID();
  await repos.tenants.insert({
    id,
    name: `jobs ${id}`,
    apiKeyHash: `h-${id}`,
    keyPrefix: "sk_live_x",
    quotaBytes: 1e9,
    allowedFileTypes: null,
    webhookSecret: "whsec_plain",
    createdAt,
  });
  return id;
}
