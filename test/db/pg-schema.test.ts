import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { PgTable } from "drizzle-orm/pg-core";
import { getTableConfig as pgTableConfig } from "drizzle-orm/pg-core";
import { type SQLiteTable, getTableConfig as sqliteTableConfig } from "drizzle-orm/sqlite-core";
import { openDatabase } from "../../src/db/client";
import { LATEST_SCHEMA_VERSION, MIGRATIONS, migrate, SchemaTooNewError, schemaVersion } from "../../src/db/migrate";
import { openPostgres, type PgDb } from "../../src/db/pg/connect";
import {
  assertKnownPostgresSchema,
  migratePostgres,
  pendingPostgresMigrations,
  postgresSchemaVersion,
} from "../../src/db/pg/migrate";
import * as pgSchema from "../../src/db/pg/schema";
import * as sqliteSchema from "../../src/db/schema";
import { createTestPgDatabase, type TestPgDatabase } from "../support/pg";
import { postgresShape, sqliteShape } from "../support/schema-shape";

let dir: string;
let pgDb: TestPgDatabase;
let pg: PgDb;
let sqlite: ReturnType<typeof openDatabase>;

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), "sb-pg-schema-"));
  sqlite = openDatabase(join(dir, "sb.db"));
  migrate(sqlite.$client);
  pgDb = await createTestPgDatabase();
  pg = openPostgres(pgDb.url, { max: 2 });
  await migratePostgres(pg);
});
afterAll(async () => {
  await pg?.$client.close();
  await pgDb?.drop();
  sqlite?.$client.close();
  rmSync(dir, { recursive: true, force: true });
});

const sqliteTables = Object.entries(sqliteSchema) as [string, SQLiteTable][];

test("the migrated PostgreSQL schema matches the migrated SQLite schema: tables, columns, keys, indexes, checks, triggers", async () => {
  const a = sqliteShape(sqlite.$client);
  const b = await postgresShape(pg.$client);
  expect(Object.keys(a.tables.files?.indexes ?? {}).length).toBeGreaterThan(10);
  expect(Object.keys(b.tables).sort()).toEqual(Object.keys(a.tables).sort());
  for (const name of Object.keys(a.tables)) expect({ name, ...b.tables[name] }).toEqual({ name, ...a.tables[name] });
});

test("the jsonb columns are exactly the SQLite schema's JSON columns", async () => {
  const json = sqliteTables.flatMap(([, t]) => {
    const c = sqliteTableConfig(t);
    return c.columns.filter((col) => col.columnType === "SQLiteTextJson").map((col) => `${c.name}.${col.name}`);
  });
  expect((await postgresShape(pg.$client)).jsonColumns).toEqual(json.sort());
});

test("the drizzle pg tables mirror the SQLite ones: names, columns, nullability, primary keys", () => {
  expect(Object.keys(pgSchema).sort()).toEqual(sqliteTables.map(([k]) => k).sort());
  for (const [key, table] of sqliteTables) {
    const s = sqliteTableConfig(table);
    const p = pgTableConfig((pgSchema as unknown as Record<string, PgTable>)[key]!);
    const cols = (c: { name: string; notNull: boolean; primary: boolean }[]) =>
      c.map((x) => ({ name: x.name, notNull: x.notNull || x.primary, primary: x.primary }));
    expect({ key, name: p.name, columns: cols(p.columns) }).toEqual({ key, name: s.name, columns: cols(s.columns) });
    const pk = (k: { columns: { name: string }[] }[]) => k.map((x) => x.columns.map((c) => c.name));
    expect(pk(p.primaryKeys)).toEqual(pk(s.primaryKeys));
  }
});

test("both dialects record the same migrations, so the same schema version", async () => {
  expect(schemaVersion(sqlite.$client)).toBe(LATEST_SCHEMA_VERSION);
  expect(await postgresSchemaVersion(pg)).toBe(LATEST_SCHEMA_VERSION);
  const pgRows = await pg.$client`SELECT version, name FROM schema_migrations ORDER BY version`;
  expect([...pgRows]).toEqual(MIGRATIONS.map((m) => ({ version: m.version, name: m.name })));
  expect(await pendingPostgresMigrations(pg)).toEqual([]);
  expect(await migratePostgres(pg)).toEqual([]);
});

test("the file_stats triggers keep the same counters in both dialects", async () => {
  const now = 1_700_000_000_000;
  const steps = [
    "INSERT INTO tenants (id, name, api_key_hash, key_prefix, webhook_secret, created_at, updated_at) VALUES ('t1', 'T', 'h', 'p', 's', 1, 1)",
    "INSERT INTO workspaces (id, tenant_id, name, slug, created_at, updated_at) VALUES ('w1', 't1', 'W', 'w', 1, 1)",
    ...["a", "b", "c", "d"].map(
      (id, i) =>
        `INSERT INTO files (id, tenant_id, workspace_id, original_name, file_type, size_bytes, context, storage_key, created_at, updated_at)
         VALUES ('${id}', 't1', ${i % 2 ? "'w1'" : "NULL"}, 'x.png', 'image/png', ${10 * (i + 1)}, ${i < 2 ? "'docs'" : "NULL"}, 'k${id}', ${now}, ${now})`,
    ),
    "UPDATE files SET deleted_at = 5 WHERE id = 'a'",
    "UPDATE files SET context = 'moved', size_bytes = 99 WHERE id = 'b'",
    "UPDATE files SET workspace_id = 'w1' WHERE id = 'c'",
    "UPDATE files SET original_name = 'y.png' WHERE id = 'd'",
    "DELETE FROM files WHERE id = 'd'",
    "DELETE FROM files WHERE id = 'a'",
    "DELETE FROM workspaces WHERE id = 'w1'",
  ];
  for (const s of steps) {
    sqlite.$client.exec(s);
    await pg.$client.unsafe(s);
  }
  const q =
    "SELECT tenant_id, workspace_id, context, file_type, file_count, total_bytes FROM file_stats ORDER BY 1, 2, 3, 4";
  const fromPg = (await pg.$client.unsafe(q)).map((r: Record<string, unknown>) => ({
    ...r,
    file_count: Number(r.file_count),
    total_bytes: Number(r.total_bytes),
  }));
  expect(fromPg).toEqual(sqlite.$client.query(q).all());
  expect(fromPg.length).toBeGreaterThan(2);
  for (const s of ["DELETE FROM tenants", "DELETE FROM file_stats"]) {
    sqlite.$client.exec(s);
    await pg.$client.unsafe(s);
  }
});

test("rows read through drizzle have the SQLite shapes: numbers for bigint, objects for jsonb", async () => {
  const row = {
    id: "t_shape",
    name: "shape",
    apiKeyHash: "hash_shape",
    keyPrefix: "sk",
    quotaBytes: 2 ** 40,
    usedBytes: 0,
    reservedBytes: 0,
    allowedFileTypes: ["image/png"],
    webhookSecret: "s",
    planId: null,
    previousKeyHash: null,
    previousKeyExpiresAt: null,
    createdAt: 1_700_000_000_123,
    updatedAt: 1_700_000_000_123,
  };
  await pg.insert(pgSchema.tenants).values(row);
  sqlite.insert(sqliteSchema.tenants).values(row).run();
  const [fromPg] = await pg.select().from(pgSchema.tenants);
  expect(fromPg).toEqual(sqlite.select().from(sqliteSchema.tenants).get()!);
  expect(fromPg).toEqual(row);
  // Stored as a jsonb array, not as a JSON string holding one (drizzle-orm + Bun.SQL double encoding).
  const [raw] = await pg.$client`SELECT jsonb_typeof(allowed_file_types) AS t FROM tenants`;
  expect(raw.t).toBe("array");
  await pg.delete(pgSchema.tenants);
  sqlite.delete(sqliteSchema.tenants).run();
});

describe("migrate on a fresh database", () => {
  let fresh: TestPgDatabase;
  beforeAll(async () => {
    fresh = await createTestPgDatabase();
  });
  afterAll(() => fresh?.drop());

  test("dry run lists every migration and creates nothing; concurrent migrates: the second waits on the lock, then finds nothing to do", async () => {
    const a = openPostgres(fresh.url, { max: 1 });
    const b = openPostgres(fresh.url, { max: 1 });
    const holder = openPostgres(fresh.url, { max: 1 });
    try {
      expect(await pendingPostgresMigrations(a)).toEqual(MIGRATIONS.map((m) => m.name));
      const [t] = await a.$client`SELECT to_regclass('schema_migrations') IS NULL AS absent`;
      expect(t.absent).toBe(true);

      // Another instance holds the migrate lock: both migrates must wait for it.
      let release!: () => void;
      const released = new Promise<void>((r) => {
        release = r;
      });
      const held = holder.$client.begin(async (tx) => {
        await tx`SELECT pg_advisory_xact_lock(hashtext('storage-brain:migrate'))`;
        await released;
      });
      await Bun.sleep(100);
      let settled = 0;
      const runs = [migratePostgres(a), migratePostgres(b)].map((p) => p.finally(() => settled++));
      await Bun.sleep(500);
      expect(settled).toBe(0);
      release();
      await held;
      const results = await Promise.all(runs);
      const lengths = results.map((r) => r.length).sort();
      expect(lengths).toEqual([0, MIGRATIONS.length]);
      expect(await postgresSchemaVersion(a)).toBe(LATEST_SCHEMA_VERSION);
    } finally {
      await Promise.all([a.$client.close(), b.$client.close(), holder.$client.close()]);
    }
  });

  test("refuses a database migrated by a newer version, naming both versions", async () => {
    const db = openPostgres(fresh.url, { max: 1 });
    try {
      await migratePostgres(db);
      await db.$client`INSERT INTO schema_migrations (version, name, applied_at) VALUES (999, '0999_future', 1)`;
      await db.$client`UPDATE settings SET value = '9.9.9' WHERE key = 'schema_written_by'`;
      const err = await migratePostgres(db).catch((e) => e);
      expect(err).toBeInstanceOf(SchemaTooNewError);
      expect(err.message).toContain("v999 (0999_future)");
      expect(err.message).toContain("9.9.9");
      expect(await assertKnownPostgresSchema(db).catch((e) => e)).toBeInstanceOf(SchemaTooNewError);
      await db.$client`DELETE FROM schema_migrations WHERE version = 999`;
    } finally {
      await db.$client.close();
    }
  });
});
