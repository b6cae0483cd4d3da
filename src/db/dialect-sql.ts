import { type SQL, type SQLWrapper, sql } from "drizzle-orm";
import type { Dialect } from "./connection";

/**
 * The few SQL expressions whose spelling differs between SQLite and PostgreSQL, in one place.
 * Everything else the repositories write is common to both.
 */
export function dialectSql(dialect: Dialect) {
  const pg = dialect === "pg";
  return {
    /**
     * Appended to the SELECT that picks rows to claim: on PostgreSQL the rows are locked and rows
     * another instance holds locked are skipped, so concurrent claimers never wait on or take each
     * other's rows. Empty on SQLite, where one writer at a time already serializes claims.
     */
    skipLocked: pg ? sql` FOR UPDATE SKIP LOCKED` : sql``,
    /** The larger of two numbers (SQLite's two-argument max() is PostgreSQL's greatest()). */
    greatest: (a: SQLWrapper | number, b: SQLWrapper | number): SQL =>
      pg ? sql`greatest(${a}, ${b})` : sql`max(${a}, ${b})`,
    /** The smaller of two numbers. */
    least: (a: SQLWrapper | number, b: SQLWrapper | number): SQL =>
      pg ? sql`least(${a}, ${b})` : sql`min(${a}, ${b})`,
    /** `a` differs from `b`, NULL counting as a value (`IS NOT` in SQLite). */
    distinctFrom: (a: SQLWrapper, b: unknown): SQL => (pg ? sql`${a} IS DISTINCT FROM ${b}` : sql`${a} IS NOT ${b}`),
    /** Case-insensitive (ASCII at least) LIKE with `\` as the escape character. */
    likeInsensitive: (column: SQLWrapper, pattern: string): SQL =>
      pg ? sql`${column} ILIKE ${pattern} ESCAPE '\\'` : sql`${column} LIKE ${pattern} ESCAPE '\\'`,
    /** True when the JSON object in `column` has `key` set to the string `value`. */
    jsonHas: (column: SQLWrapper, key: string, value: string): SQL =>
      pg
        ? sql`(${column} ->> ${key}) = ${value}`
        : sql`exists (select 1 from json_each(${column}) j where j.key = ${key} and j.value = ${value})`,
    /** The JSON object in `column` with `key` set to the string `value` (anything not an object counts as {}). */
    jsonWithKey: (column: SQLWrapper, key: string, value: string): SQL =>
      pg
        ? sql`(CASE WHEN jsonb_typeof(${column}) = 'object' THEN ${column} ELSE '{}'::jsonb END) || jsonb_build_object(${key}::text, ${value}::text)`
        : sql`json_set(CASE WHEN json_valid(${column}) AND json_type(${column}) = 'object' THEN ${column} ELSE '{}' END, ${`$.${key}`}, ${value})`,
    /** The UTC day (YYYY-MM-DD) of an epoch-milliseconds column. */
    utcDay: (column: SQLWrapper): SQL<string> =>
      pg
        ? sql<string>`to_char(to_timestamp(${column} / 1000.0) at time zone 'UTC', 'YYYY-MM-DD')`
        : sql<string>`strftime('%Y-%m-%d', ${column} / 1000, 'unixepoch')`,
  };
}
