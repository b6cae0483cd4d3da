import type { SQL } from "bun";
// PostgreSQL twins of migrations/*.sql, imported as text so `bun build --compile` embeds them.
import p0001 from "../../../migrations/pg/0001_init.sql" with { type: "text" };
import p0002 from "../../../migrations/pg/0002_webhooks.sql" with { type: "text" };
import p0003 from "../../../migrations/pg/0003_storage_module.sql" with { type: "text" };
import p0004 from "../../../migrations/pg/0004_job_indexes.sql" with { type: "text" };
import p0006 from "../../../migrations/pg/0006_operations.sql" with { type: "text" };
import p0007 from "../../../migrations/pg/0007_tus_uploads.sql" with { type: "text" };
import p0008 from "../../../migrations/pg/0008_console_sessions.sql" with { type: "text" };
import p0009 from "../../../migrations/pg/0009_any_type_tenants_auth_workspace.sql" with { type: "text" };
import p0010 from "../../../migrations/pg/0010_failed_object_sweep.sql" with { type: "text" };
import p0011 from "../../../migrations/pg/0011_job_leases.sql" with { type: "text" };
import p0012 from "../../../migrations/pg/0012_rate_limit_buckets.sql" with { type: "text" };
import p0013 from "../../../migrations/pg/0013_filter_indexes_skip_null.sql" with { type: "text" };
import { VERSION } from "../../version";
import { MIGRATIONS, schemaTooNew, WRITTEN_BY } from "../migrate";
import type { PgDb } from "./connect";

const PG_SQL: Record<string, string> = {
  "0001_init": p0001,
  "0002_webhooks": p0002,
  "0003_storage_module": p0003,
  "0004_job_indexes": p0004,
  "0006_operations": p0006,
  "0007_tus_uploads": p0007,
  "0008_console_sessions": p0008,
  "0009_any_type_tenants_auth_workspace": p0009,
  "0010_failed_object_sweep": p0010,
  "0011_job_leases": p0011,
  "0012_rate_limit_buckets": p0012,
  "0013_filter_indexes_skip_null": p0013,
};

/**
 * The SQLite list with each migration's PostgreSQL SQL: same versions, same names, same order,
 * so both dialects record the same schema version. A SQLite migration without its twin fails
 * here, at load, in every test run.
 */
const PG_MIGRATIONS = MIGRATIONS.map((m) => {
  const sql = PG_SQL[m.name];
  if (sql === undefined) throw new Error(`migration ${m.name} has no PostgreSQL twin in migrations/pg/`);
  return { version: m.version, name: m.name, sql };
});

/**
 * Key of the transaction-level advisory lock `migrate` holds: instances starting at once
 * apply the migrations one after the other, and the later ones find nothing to do.
 */
const MIGRATE_LOCK = "storage-brain:migrate";

const CREATE_MIGRATIONS_TABLE =
  "CREATE TABLE IF NOT EXISTS schema_migrations (version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at BIGINT NOT NULL)";

async function appliedMigrations(sql: SQL): Promise<{ version: number; name: string }[]> {
  const [exists] = await sql`SELECT to_regclass('schema_migrations') IS NOT NULL AS present`;
  if (!exists?.present) return [];
  return sql`SELECT version, name FROM schema_migrations ORDER BY version`;
}

/** Refuses a database holding a migration this binary doesn't know (as `assertKnownSchema`). */
async function assertKnown(sql: SQL, appVersion: string): Promise<void> {
  const known = new Set(PG_MIGRATIONS.map((m) => m.version));
  const unknown = (await appliedMigrations(sql)).filter((m) => !known.has(m.version));
  const newest = unknown[unknown.length - 1];
  if (!newest) return;
  const [row] = (await sql`SELECT to_regclass('settings') IS NOT NULL AS present`) as { present: boolean }[];
  const by = row?.present
    ? ((await sql`SELECT value FROM settings WHERE key = ${WRITTEN_BY}`) as { value: string }[])[0]?.value
    : undefined;
  throw schemaTooNew({ newest, writtenBy: by, appVersion });
}

/** Refuses (SchemaTooNewError) a PostgreSQL database migrated by a newer Storage Brain. */
export async function assertKnownPostgresSchema(db: PgDb, appVersion = VERSION): Promise<void> {
  await assertKnown(db.$client, appVersion);
}

/** Names of the migrations `migrate` would apply (changes nothing; for `migrate --dry-run`). */
export async function pendingPostgresMigrations(db: PgDb): Promise<string[]> {
  const done = new Set((await appliedMigrations(db.$client)).map((m) => m.version));
  return PG_MIGRATIONS.filter((m) => !done.has(m.version)).map((m) => m.name);
}

/**
 * Applies the pending migrations in one transaction under `pg_advisory_xact_lock` and returns
 * the names applied. PostgreSQL's DDL is transactional, so a failing migration leaves the
 * database as it was; a second instance migrating at the same time waits on the lock, then reads
 * the versions again and finds nothing to do. Refuses a newer database (checked under the lock).
 */
export async function migratePostgres(db: PgDb, appVersion = VERSION): Promise<string[]> {
  return db.$client.begin(async (tx) => {
    await tx`SELECT pg_advisory_xact_lock(hashtext(${MIGRATE_LOCK}))`;
    await assertKnown(tx, appVersion);
    await tx.unsafe(CREATE_MIGRATIONS_TABLE);
    const done = new Set((await appliedMigrations(tx)).map((m) => m.version));
    const applied: string[] = [];
    for (const m of PG_MIGRATIONS) {
      if (done.has(m.version)) continue;
      await tx.unsafe(m.sql);
      await tx`INSERT INTO schema_migrations (version, name, applied_at) VALUES (${m.version}, ${m.name}, ${Date.now()})`;
      applied.push(m.name);
    }
    if (applied.length)
      await tx`INSERT INTO settings (key, value) VALUES (${WRITTEN_BY}, ${appVersion})
               ON CONFLICT (key) DO UPDATE SET value = excluded.value`;
    return applied;
  });
}

/** The highest applied migration version, 0 for an empty database. */
export async function postgresSchemaVersion(db: PgDb): Promise<number> {
  const done = await appliedMigrations(db.$client);
  return done.reduce((max, m) => Math.max(max, Number(m.version)), 0);
}
