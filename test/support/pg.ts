import { randomBytes } from "node:crypto";
import { SQL } from "bun";

/** Where tests find PostgreSQL (trust auth; see docs/operations.md). */
const ADMIN_URL = process.env.SB_TEST_PG_ADMIN_URL ?? "postgres://postgres@127.0.0.1:5432/postgres";

export interface TestPgDatabase {
  /** postgres://… URL of a fresh, empty database of this test's own. */
  url: string;
  /** Drops the database (closing any connection still open to it). */
  drop(): Promise<void>;
}

/**
 * Creates a uniquely named empty database for one test file, so parallel runs never collide.
 * Throws — never skips — when PostgreSQL can't be reached: a run without it must fail loudly.
 */
export async function createTestPgDatabase(): Promise<TestPgDatabase> {
  const name = `sb_test_${process.pid}_${randomBytes(4).toString("hex")}`;
  const admin = new SQL({ url: ADMIN_URL, max: 1, connectionTimeout: 5 });
  try {
    await admin.unsafe(`CREATE DATABASE ${name}`);
  } catch (err) {
    await admin.close().catch(() => {});
    throw new Error(
      `PostgreSQL is required by this test and could not be used at ${ADMIN_URL} (${(err as Error).message}). ` +
        "Start it: pg_ctlcluster --skip-systemctl-redirect $(ls /etc/postgresql) main start",
    );
  }
  await admin.close();
  const url = new URL(ADMIN_URL);
  url.pathname = `/${name}`;
  return {
    url: url.toString(),
    async drop() {
      const a = new SQL({ url: ADMIN_URL, max: 1 });
      try {
        await a.unsafe(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
      } finally {
        await a.close();
      }
    },
  };
}
