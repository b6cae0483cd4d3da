import type { TestPgDatabase } from "../../test/support/pg";
import { cpuMsOf } from "./proc";

/** CPU ms used so far by the PostgreSQL backends connected to `db` (their /proc stat; the querying one excluded). */
export async function pgBackendsCpu(db: TestPgDatabase): Promise<Map<number, number>> {
  const sql = new Bun.SQL({ url: db.url, max: 1 });
  try {
    const rows =
      await sql`SELECT pid FROM pg_stat_activity WHERE datname = current_database() AND pid <> pg_backend_pid()`;
    const cpu = new Map<number, number>();
    for (const { pid } of rows as { pid: number }[]) {
      try {
        cpu.set(pid, cpuMsOf(pid));
      } catch {} // exited meanwhile
    }
    return cpu;
  } finally {
    await sql.close();
  }
}
