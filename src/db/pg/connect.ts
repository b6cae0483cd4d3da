import { SQL } from "bun";
import { type BunSQLDatabase, drizzle } from "drizzle-orm/bun-sql";
import * as schema from "./schema";

/** Drizzle over Bun.SQL with the PostgreSQL tables; `$client` is the pool (for raw SQL, LISTEN). */
export type PgDb = BunSQLDatabase<typeof schema> & { $client: SQL };

/**
 * Opens a connection pool to PostgreSQL (Bun's built-in driver, chosen in docs/decisions.md).
 * Connections open lazily, so an unreachable server shows on the first query, not here.
 * `max` is the pool size (Bun.SQL's default is 10).
 */
export function openPostgres(url: string, opts: { max?: number } = {}): PgDb {
  const client = new SQL({ url, max: opts.max ?? 10 });
  return drizzle({ client, schema }) as PgDb;
}
