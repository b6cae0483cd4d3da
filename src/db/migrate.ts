import type { Database } from "bun:sqlite";
// SQL files are imported as text so `bun build --compile` embeds them in the binary.
import m0001 from "../../migrations/0001_init.sql" with { type: "text" };
import m0002 from "../../migrations/0002_webhooks.sql" with { type: "text" };
import m0003 from "../../migrations/0003_storage_module.sql" with { type: "text" };
import m0004 from "../../migrations/0004_job_indexes.sql" with { type: "text" };
import m0006 from "../../migrations/0006_operations.sql" with { type: "text" };
import m0007 from "../../migrations/0007_tus_uploads.sql" with { type: "text" };
import m0008 from "../../migrations/0008_console_sessions.sql" with { type: "text" };
import m0009 from "../../migrations/0009_any_type_tenants_auth_workspace.sql" with { type: "text" };
import m0010 from "../../migrations/0010_failed_object_sweep.sql" with { type: "text" };
import m0011 from "../../migrations/0011_job_leases.sql" with { type: "text" };
import m0012 from "../../migrations/0012_rate_limit_buckets.sql" with { type: "text" };
import m0013 from "../../migrations/0013_filter_indexes_skip_null.sql" with { type: "text" };
import { VERSION } from "../version";

/**
 * Ordered list of migrations; append only. Each has a PostgreSQL twin of the same name in
 * migrations/pg/ (src/db/pg/migrate.ts; docs/operations.md, "Schema migrations (SQLite and PostgreSQL)").
 */
export const MIGRATIONS: readonly { version: number; name: string; sql: string }[] = [
  { version: 1, name: "0001_init", sql: m0001 },
  { version: 2, name: "0002_webhooks", sql: m0002 },
  { version: 3, name: "0003_storage_module", sql: m0003 },
  { version: 4, name: "0004_job_indexes", sql: m0004 },
  { version: 6, name: "0006_operations", sql: m0006 },
  { version: 7, name: "0007_tus_uploads", sql: m0007 },
  { version: 8, name: "0008_console_sessions", sql: m0008 },
  { version: 9, name: "0009_any_type_tenants_auth_workspace", sql: m0009 },
  { version: 10, name: "0010_failed_object_sweep", sql: m0010 },
  { version: 11, name: "0011_job_leases", sql: m0011 },
  { version: 12, name: "0012_rate_limit_buckets", sql: m0012 },
  { version: 13, name: "0013_filter_indexes_skip_null", sql: m0013 },
];

export const LATEST_SCHEMA_VERSION = Math.max(...MIGRATIONS.map((m) => m.version));

/** Settings key naming the program version that last applied migrations (for the message below). */
export const WRITTEN_BY = "schema_written_by";

/** The database was migrated by a newer version: this binary must not touch it. */
export class SchemaTooNewError extends Error {
  override name = "SchemaTooNewError";
}

function appliedMigrations(sqlite: Database): { version: number; name: string }[] {
  const table = sqlite.query("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'schema_migrations'").get();
  if (!table) return [];
  return sqlite.query("SELECT version, name FROM schema_migrations ORDER BY version").all() as {
    version: number;
    name: string;
  }[];
}

/**
 * Refuses a database holding a migration this binary doesn't know (a newer version applied
 * it): running old code on a newer schema could corrupt data silently. The message names the
 * schema versions and, where recorded, the program version that wrote it.
 */
export function assertKnownSchema(sqlite: Database, appVersion: string): void {
  const known = new Set(MIGRATIONS.map((m) => m.version));
  const unknown = appliedMigrations(sqlite).filter((m) => !known.has(m.version));
  if (unknown.length === 0) return;
  const newest = unknown[unknown.length - 1] as { version: number; name: string };
  const hasSettings = sqlite.query("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'settings'").get();
  const by = hasSettings
    ? (sqlite.query("SELECT value FROM settings WHERE key = ?").get(WRITTEN_BY) as { value: string } | null)?.value
    : undefined;
  throw schemaTooNew({ newest, writtenBy: by, appVersion });
}

/** The refusal of a database holding migrations this binary doesn't know (both dialects). */
export function schemaTooNew(o: {
  newest: { version: number; name: string };
  writtenBy: string | undefined;
  appVersion: string;
}): SchemaTooNewError {
  return new SchemaTooNewError(
    `the database was migrated by a newer Storage Brain${o.writtenBy ? ` (${o.writtenBy})` : ""}: ` +
      `it has schema v${o.newest.version} (${o.newest.name}), ` +
      `this is Storage Brain ${o.appVersion}, which knows schema up to v${LATEST_SCHEMA_VERSION}. ` +
      "Run the newer version, or restore a backup taken before the upgrade.",
  );
}

/** Names of the migrations `migrate` would apply (changes nothing; for `migrate --dry-run`). */
export function pendingMigrations(sqlite: Database): string[] {
  const done = new Set(appliedMigrations(sqlite).map((m) => m.version));
  return MIGRATIONS.filter((m) => !done.has(m.version)).map((m) => m.name);
}

/**
 * Applies pending migrations, each in its own transaction, and returns the names applied.
 * Safe to run concurrently from two processes: BEGIN IMMEDIATE serialises them and the
 * version check is repeated inside the transaction. Refuses a newer database first.
 */
export function migrate(sqlite: Database, appVersion = VERSION): string[] {
  assertKnownSchema(sqlite, appVersion);
  sqlite.exec(
    "CREATE TABLE IF NOT EXISTS schema_migrations (version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at INTEGER NOT NULL)",
  );
  const applied: string[] = [];
  for (const m of MIGRATIONS) {
    sqlite.exec("BEGIN IMMEDIATE");
    try {
      const done = sqlite.query("SELECT 1 FROM schema_migrations WHERE version = ?").get(m.version);
      if (!done) {
        sqlite.exec(m.sql);
        sqlite
          .query("INSERT INTO schema_migrations (version, name, applied_at) VALUES (?, ?, ?)")
          .run(m.version, m.name, Date.now());
        applied.push(m.name);
      }
      sqlite.exec("COMMIT");
    } catch (err) {
      sqlite.exec("ROLLBACK");
      throw err;
    }
  }
  if (applied.length)
    sqlite.query("INSERT OR REPLACE INTO settings (key, value) VALUES (?, ?)").run(WRITTEN_BY, appVersion);
  return applied;
}

export function schemaVersion(sqlite: Database): number {
  const row = sqlite.query("SELECT max(version) AS v FROM schema_migrations").get() as { v: number | null } | null;
  return row?.v ?? 0;
}
