import { existsSync } from "node:fs";
import { type Column, count, getTableColumns, type SQL, sql } from "drizzle-orm";
import type { BunSQLiteDatabase } from "drizzle-orm/bun-sqlite";
import { getTableConfig, type SQLiteTable } from "drizzle-orm/sqlite-core";
import { openDatabase } from "../db/client";
import { assertKnownSchema, MIGRATIONS, migrate, pendingMigrations, schemaVersion, WRITTEN_BY } from "../db/migrate";
import { openPostgres } from "../db/pg/connect";
import {
  assertKnownPostgresSchema,
  migratePostgres,
  pendingPostgresMigrations,
  postgresSchemaVersion,
} from "../db/pg/migrate";
import * as pgSchema from "../db/pg/schema";
import * as sqliteSchema from "../db/schema";
import { VERSION } from "../version";
import { UsageError } from "./args";

/** `db copy` refused or failed; the message is for the operator (exit 1). */
export class DbCopyError extends Error {
  override name = "DbCopyError";
}

/**
 * Every table, parents before children (foreign-key order). `schema_migrations` is not copied:
 * the target is migrated by this binary to the same version.
 */
export const COPY_ORDER = [
  "settings",
  "plans",
  "tenants",
  "workspaces",
  "files",
  "fileStats",
  "webhookEndpoints",
  "webhookDeliveries",
  "userKeys",
  "auditLog",
  "tusUploads",
  "tusUploadParts",
  "consoleSessions",
  "rateLimitBuckets",
] as const satisfies readonly (keyof typeof sqliteSchema)[];
export type TableKey = (typeof COPY_ORDER)[number];
type Tables = typeof sqliteSchema;
/** Fails to compile, naming the table, when a table of the schema is missing from COPY_ORDER. */
const everyTableCopied: [Exclude<keyof Tables, TableKey>] extends [never] ? true : Exclude<keyof Tables, TableKey> =
  true;
void everyTableCopied;
const SQLITE_TABLES: Tables = sqliteSchema;
type Row = Record<string, unknown>;

/**
 * Either dialect's drizzle database, typed as the SQLite one: the query builder calls used here
 * (select/insert/delete, awaited) are the same on both, and the pg tables have the same property
 * names and row shapes (src/db/pg/schema-parity.ts). The one place the pg side is cast.
 */
type AnyDb = BunSQLiteDatabase<Tables>;

export interface QuotaTotals {
  tenantsUsedBytes: number;
  tenantsReservedBytes: number;
  workspacesUsedBytes: number;
  workspacesReservedBytes: number;
}

/** Reads and writes of one database inside the copy's transaction (snapshot or write). */
export class TableAccess {
  constructor(
    private readonly db: AnyDb,
    private readonly tables: Tables,
    readonly dialect: "sqlite" | "postgres",
  ) {}

  /** Row count; `settings` leaves out the key migrate writes on every database. */
  async count(key: TableKey): Promise<number> {
    const t = this.tables[key];
    const where = key === "settings" ? sql`${this.tables.settings.key} <> ${WRITTEN_BY}` : undefined;
    const [r] = await this.db.select({ n: count() }).from(t).where(where);
    return Number(r?.n ?? 0);
  }

  async quotaTotals(): Promise<QuotaTotals> {
    const sum = (c: Column) => sql`coalesce(sum(${c}), 0)`.mapWith(Number);
    const { tenants: t, workspaces: w } = this.tables;
    const [a] = await this.db.select({ used: sum(t.usedBytes), reserved: sum(t.reservedBytes) }).from(t);
    const [b] = await this.db.select({ used: sum(w.usedBytes), reserved: sum(w.reservedBytes) }).from(w);
    return {
      tenantsUsedBytes: a?.used ?? 0,
      tenantsReservedBytes: a?.reserved ?? 0,
      workspacesUsedBytes: b?.used ?? 0,
      workspacesReservedBytes: b?.reserved ?? 0,
    };
  }

  /**
   * The table's rows in batches of `size`, in primary-key order (keyset pagination: each batch
   * is an indexed range read, and only one batch is in memory at a time).
   */
  async *batches(key: TableKey, size: number): AsyncGenerator<Row[]> {
    const t = this.tables[key];
    const cols = getTableColumns(t) as Record<string, Column>;
    const pkProps = primaryKeyProps(key);
    const pk = pkProps.map((p) => cols[p] as Column);
    let after: SQL | undefined;
    for (;;) {
      const rows = (await this.db
        .select()
        .from(t)
        .where(after)
        .orderBy(...pk.map((c) => sql`${c}`))
        .limit(size)) as Row[];
      if (rows.length) yield rows;
      if (rows.length < size) return;
      const last = rows[rows.length - 1] as Row;
      const values = pkProps.map((p) => sql`${last[p]}`);
      after = sql`(${sql.join(pk, sql`, `)}) > (${sql.join(values, sql`, `)})`;
    }
  }

  /** Inserts rows in statements of at most ~20,000 bound values (under both dialects' limits). */
  async insert(key: TableKey, rows: Row[]): Promise<void> {
    const t = this.tables[key];
    const perStatement = Math.max(1, Math.floor(20_000 / Object.keys(getTableColumns(t)).length));
    for (let i = 0; i < rows.length; i += perStatement)
      await this.db.insert(t).values(rows.slice(i, i + perStatement) as never);
  }

  /** Deletes every row (children first); `settings` keeps the key migrate writes. */
  async clear(keys: readonly TableKey[]): Promise<void> {
    for (const key of [...keys].reverse()) {
      const where = key === "settings" ? sql`${this.tables.settings.key} <> ${WRITTEN_BY}` : undefined;
      await this.db.delete(this.tables[key]).where(where);
    }
  }

  /** Raw SQL on the same connection and transaction. */
  async exec(statement: string): Promise<void> {
    if (this.dialect === "sqlite") await this.db.run(sql.raw(statement));
    else await (this.db as unknown as { execute(q: SQL): Promise<unknown> }).execute(sql.raw(statement));
  }
}

/** Property names of a table's primary key, from the SQLite schema (the pg one is the same). */
function primaryKeyProps(key: TableKey): string[] {
  const t = SQLITE_TABLES[key] as SQLiteTable;
  const cols = getTableColumns(t) as Record<string, Column>;
  const propOf = (c: Column) => Object.keys(cols).find((p) => cols[p] === c) as string;
  const single = Object.values(cols).filter((c) => c.primary);
  if (single.length) return single.map(propOf);
  const composite = getTableConfig(t).primaryKeys[0];
  if (!composite) throw new Error(`table ${key} has no primary key`);
  return composite.columns.map((c) => propOf(c as unknown as Column));
}

/** One end of a copy: a SQLite file or a PostgreSQL database. */
export interface CopyEnd {
  /** For messages: the URL without its password. */
  label: string;
  /** The applied schema version; refuses a schema this binary doesn't know. */
  schema(): Promise<{ version: number; pending: string[] }>;
  /** Runs `fn` in one read-only transaction: every read sees the same snapshot. */
  snapshot<T>(fn: (a: TableAccess) => Promise<T>): Promise<T>;
  /** Applies this binary's migrations (target only). */
  migrate(): Promise<string[]>;
  /** Runs `fn` in one write transaction, rolled back if it throws. */
  write<T>(fn: (a: TableAccess) => Promise<T>): Promise<T>;
  close(): Promise<void>;
}

/** `file:<path>` or `file:///abs/path` (SQLite), or `postgres://…` / `postgresql://…`; anything else is a usage error. */
export function openCopyEnd(url: string, role: "source" | "target"): CopyEnd {
  if (/^postgres(ql)?:\/\//i.test(url)) return postgresEnd(url);
  if (url.startsWith("file:") && url.length > "file:".length && url !== "file::memory:") {
    const path = url.startsWith("file://") ? decodeURIComponent(new URL(url).pathname) : url.slice("file:".length);
    if (role === "source" && !existsSync(path)) throw new DbCopyError(`no SQLite database at ${path}`);
    return sqliteEnd(url, path);
  }
  throw new UsageError(`not a database URL: ${url} (file:<path> for SQLite, postgres://… for PostgreSQL)`);
}

function sqliteEnd(label: string, path: string): CopyEnd {
  const db = openDatabase(path);
  const sqlite = db.$client;
  const access = new TableAccess(db as unknown as AnyDb, sqliteSchema, "sqlite");
  const inTransaction = async <T>(begin: string, fn: () => Promise<T>) => {
    sqlite.exec(begin);
    try {
      const out = await fn();
      sqlite.exec("COMMIT");
      return out;
    } catch (err) {
      sqlite.exec("ROLLBACK");
      throw err;
    }
  };
  return {
    label,
    async schema() {
      assertKnownSchema(sqlite, VERSION);
      const pending = pendingMigrations(sqlite);
      // No schema_migrations table at all: not (yet) a Storage Brain database.
      const empty = pending.length === MIGRATIONS.length;
      return { version: empty ? 0 : schemaVersion(sqlite), pending };
    },
    // A deferred transaction's first read fixes the WAL snapshot until COMMIT.
    snapshot: (fn) => inTransaction("BEGIN", () => fn(access)),
    migrate: async () => migrate(sqlite),
    write: (fn) => inTransaction("BEGIN IMMEDIATE", () => fn(access)),
    close: async () => sqlite.close(),
  };
}

function postgresEnd(url: string): CopyEnd {
  const db = openPostgres(url, { max: 2 });
  const tables = pgSchema as unknown as Tables;
  const shown = new URL(url);
  if (shown.password) shown.password = "***";
  return {
    label: shown.toString(),
    async schema() {
      await assertKnownPostgresSchema(db);
      return { version: await postgresSchemaVersion(db), pending: await pendingPostgresMigrations(db) };
    },
    snapshot: (fn) =>
      db.transaction((tx) => fn(new TableAccess(tx as unknown as AnyDb, tables, "postgres")), {
        isolationLevel: "repeatable read",
        accessMode: "read only",
      }),
    migrate: () => migratePostgres(db),
    write: (fn) => db.transaction((tx) => fn(new TableAccess(tx as unknown as AnyDb, tables, "postgres"))),
    close: () => db.$client.close(),
  };
}
