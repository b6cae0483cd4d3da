import { existsSync, readFileSync } from "node:fs";
import { sql } from "drizzle-orm";
import type { Runtime } from "../../src/runtime";

/**
 * Everything the metadata database holds, as text, for "never stored in clear" checks: with
 * SQLite the database files as they lie on disk (WAL checkpointed first, so nothing hides in the
 * -wal only); with PostgreSQL every row of every table.
 */
export async function databaseText(rt: Runtime): Promise<string> {
  if (rt.sqlite) {
    rt.sqlite.exec("PRAGMA wal_checkpoint(TRUNCATE)");
    const db = rt.config.databasePath;
    return [db, `${db}-wal`]
      .filter(existsSync)
      .map((f) => readFileSync(f).toString("latin1"))
      .join("");
  }
  const tables = await rt.conn.rows<{ t: string }>(
    sql`SELECT tablename AS t FROM pg_tables WHERE schemaname = current_schema()`,
  );
  const rows = await Promise.all(tables.map((r) => rt.conn.rows(sql`SELECT * FROM ${sql.identifier(r.t)}`)));
  return JSON.stringify(rows);
}
