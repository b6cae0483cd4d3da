import { lt, sql } from "drizzle-orm";
import type { Connection } from "../connection";
import { dialectSql } from "../dialect-sql";

/** Tokens are stored in millionths, so both dialects keep them in an integer column. */
export const MICRO = 1_000_000;

/** A token bucket's rule in stored units: capacity in micro-tokens, refill in micro-tokens per ms. */
export interface StoredRule {
  capacity: number;
  perMs: number;
}

/**
 * Token buckets in `rate_limit_buckets`, shared by every instance using the database (used on
 * PostgreSQL; SQLite keeps them in memory, domain/limits/rate-limit-store.ts). Each take is one
 * statement — INSERT … ON CONFLICT DO UPDATE … RETURNING — so concurrent takes on any instance
 * serialize on the row and never both spend the last token.
 */
export function createRateLimitsRepo(conn: Connection) {
  const { rateLimitBuckets: b } = conn.tables;
  const { greatest, least } = dialectSql(conn.dialect);
  const num = (n: number) => sql`CAST(${n} AS BIGINT)`;
  const real = (n: number) => sql`CAST(${n} AS DOUBLE PRECISION)`;
  return {
    /**
     * Refills `key` for the time since its last take (at `now`), then takes `cost` micro-tokens
     * if that many are there. Returns the tokens left and whether they were taken.
     */
    async take(key: string, rule: StoredRule, now: number, cost: number): Promise<{ tokens: number; taken: boolean }> {
      const elapsed = greatest(sql`0`, sql`${num(now)} - rate_limit_buckets.updated_at`);
      const available = least(
        num(rule.capacity),
        sql`rate_limit_buckets.micro_tokens + CAST(${elapsed} * ${real(rule.perMs)} AS BIGINT)`,
      );
      const fullAt = now + Math.ceil(rule.capacity / Math.max(rule.perMs, 1e-9));
      const fresh = rule.capacity >= cost;
      const [row] = await conn.rows<{ micro_tokens: number | string; taken: number | string }>(sql`
        INSERT INTO rate_limit_buckets (key, micro_tokens, updated_at, full_at, taken)
        VALUES (${key}, ${num(fresh ? rule.capacity - cost : rule.capacity)}, ${num(now)}, ${num(fullAt)}, ${fresh ? 1 : 0})
        ON CONFLICT (key) DO UPDATE SET
          micro_tokens = CASE WHEN ${available} >= ${num(cost)} THEN ${available} - ${num(cost)} ELSE ${available} END,
          taken = CASE WHEN ${available} >= ${num(cost)} THEN 1 ELSE 0 END,
          updated_at = ${num(now)},
          full_at = ${num(fullAt)}
        RETURNING micro_tokens, taken`);
      return { tokens: Number(row?.micro_tokens ?? 0), taken: Number(row?.taken ?? 0) === 1 };
    },
    /** The bucket as last written (null: none, i.e. full). */
    async get(key: string): Promise<{ tokens: number; updatedAt: number } | null> {
      const [row] = await conn.rows<{ micro_tokens: number | string; updated_at: number | string }>(
        sql`SELECT micro_tokens, updated_at FROM rate_limit_buckets WHERE key = ${key}`,
      );
      return row ? { tokens: Number(row.micro_tokens), updatedAt: Number(row.updated_at) } : null;
    },
    /** Deletes buckets that have refilled by `now` (the same as absent); returns how many. */
    async sweep(now: number): Promise<number> {
      return (await conn.exec().delete(b).where(lt(b.fullAt, now)).returning({ key: b.key })).length;
    },
  };
}
export type RateLimitsRepo = ReturnType<typeof createRateLimitsRepo>;
