import type { Database } from "bun:sqlite";
import type { SQL } from "bun";

/**
 * A dialect-neutral description of a migrated database, for comparing the SQLite and PostgreSQL
 * schemas (test/db/pg-schema.test.ts). Types are normalized to SQLite's affinities (integer,
 * text); jsonb columns read as text and are listed separately; defaults lose their casts.
 */
export interface SchemaShape {
  tables: Record<string, TableShape>;
  /** "<table>.<column>" of the columns holding JSON (jsonb in PostgreSQL; empty for SQLite). */
  jsonColumns: string[];
}

interface TableShape {
  columns: Record<string, { type: string; nullable: boolean; default: string | null }>;
  primaryKey: string[];
  /** Named indexes (CREATE INDEX), by name. Expression parts are "<expr>", descending ones "col desc". */
  indexes: Record<string, { unique: boolean; partial: boolean; columns: string[] }>;
  /** UNIQUE constraints of columns (their index names differ between dialects). */
  uniques: string[];
  foreignKeys: string[];
  /** Per CHECK: the columns it reads, its string literals and numbers. */
  checks: string[];
  triggers: string[];
}

const emptyTable = (): TableShape => ({
  columns: {},
  primaryKey: [],
  indexes: {},
  uniques: [],
  foreignKeys: [],
  checks: [],
  triggers: [],
});

const normType = (t: string) => {
  const u = t.toLowerCase();
  if (u === "integer" || u === "bigint" || u === "int") return "integer";
  if (u === "text" || u === "jsonb") return "text";
  return u;
};
const normDefault = (d: string | null) => (d === null ? null : d.replace(/::[a-z ]+/g, "").replace(/^\((.*)\)$/, "$1"));

/** Columns a CHECK reads, and its literals: comparable across dialects' different spellings. */
function checkSignature(expr: string, columns: string[]): string {
  const words = new Set(expr.match(/[a-z_][a-z0-9_]*/gi) ?? []);
  const cols = columns.filter((c) => words.has(c)).sort();
  const strings = (expr.match(/'[^']*'/g) ?? []).sort();
  const numbers = (expr.replace(/'[^']*'/g, "").match(/\b\d+\b/g) ?? []).sort();
  return `${cols.join(",")} | ${strings.join(",")} | ${numbers.join(",")}`;
}

/** The CHECK (...) bodies of a CREATE TABLE statement, parentheses balanced. */
function checkBodies(createSql: string): string[] {
  const out: string[] = [];
  const re = /CHECK\s*\(/gi;
  for (let m = re.exec(createSql); m; m = re.exec(createSql)) {
    let depth = 1;
    let i = m.index + m[0].length;
    const start = i;
    for (; i < createSql.length && depth > 0; i++) {
      if (createSql[i] === "(") depth++;
      else if (createSql[i] === ")") depth--;
    }
    out.push(createSql.slice(start, i - 1));
  }
  return out;
}

const FK_ACTION: Record<string, string> = {
  a: "NO ACTION",
  r: "RESTRICT",
  c: "CASCADE",
  n: "SET NULL",
  d: "SET DEFAULT",
};

export function sqliteShape(db: Database): SchemaShape {
  const tables: Record<string, TableShape> = {};
  const rows = db
    .query("SELECT name, sql FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'")
    .all() as { name: string; sql: string }[];
  for (const { name, sql } of rows) {
    const t = emptyTable();
    const cols = db.query(`SELECT * FROM pragma_table_info('${name}')`).all() as {
      name: string;
      type: string;
      notnull: number;
      dflt_value: string | null;
      pk: number;
    }[];
    for (const c of cols)
      t.columns[c.name] = {
        type: normType(c.type),
        nullable: !(c.notnull || c.pk),
        default: normDefault(c.dflt_value),
      };
    t.primaryKey = cols
      .filter((c) => c.pk > 0)
      .sort((a, b) => a.pk - b.pk)
      .map((c) => c.name);
    const idx = db.query(`SELECT * FROM pragma_index_list('${name}')`).all() as {
      name: string;
      unique: number;
      origin: string;
      partial: number;
    }[];
    for (const i of idx) {
      if (i.origin === "pk") continue;
      const parts = (
        db.query(`SELECT * FROM pragma_index_xinfo('${i.name}') WHERE key = 1 ORDER BY seqno`).all() as {
          cid: number;
          name: string | null;
          desc: number;
        }[]
      ).map((p) => (p.cid === -2 ? "<expr>" : `${p.name}${p.desc ? " desc" : ""}`));
      if (i.origin === "u") t.uniques.push(parts.join(","));
      else t.indexes[i.name] = { unique: !!i.unique, partial: !!i.partial, columns: parts };
    }
    const fks = db.query(`SELECT * FROM pragma_foreign_key_list('${name}') ORDER BY id, seq`).all() as {
      id: number;
      table: string;
      from: string;
      to: string;
      on_delete: string;
    }[];
    const byId = new Map<number, typeof fks>();
    for (const f of fks) byId.set(f.id, [...(byId.get(f.id) ?? []), f]);
    for (const group of byId.values()) {
      const f = group[0]!;
      t.foreignKeys.push(
        `(${group.map((g) => g.from).join(",")}) -> ${f.table}(${group.map((g) => g.to).join(",")}) ON DELETE ${f.on_delete}`,
      );
    }
    t.checks = checkBodies(sql).map((b) => checkSignature(b, Object.keys(t.columns)));
    tables[name] = t;
  }
  const triggers = db.query("SELECT name, tbl_name FROM sqlite_master WHERE type = 'trigger'").all() as {
    name: string;
    tbl_name: string;
  }[];
  for (const tr of triggers) tables[tr.tbl_name]?.triggers.push(tr.name);
  return sorted({ tables, jsonColumns: [] });
}

export async function postgresShape(sql: SQL): Promise<SchemaShape> {
  const tables: Record<string, TableShape> = {};
  const jsonColumns: string[] = [];
  const cols = (await sql`
    SELECT table_name, column_name, data_type, is_nullable, column_default
    FROM information_schema.columns c
    WHERE table_schema = 'public'
      AND table_name IN (SELECT table_name FROM information_schema.tables WHERE table_schema = 'public' AND table_type = 'BASE TABLE')
    ORDER BY table_name, ordinal_position`) as {
    table_name: string;
    column_name: string;
    data_type: string;
    is_nullable: string;
    column_default: string | null;
  }[];
  for (const c of cols) {
    tables[c.table_name] ??= emptyTable();
    tables[c.table_name]!.columns[c.column_name] = {
      type: normType(c.data_type),
      nullable: c.is_nullable === "YES",
      default: normDefault(c.column_default),
    };
    if (c.data_type === "jsonb") jsonColumns.push(`${c.table_name}.${c.column_name}`);
  }
  const constraints = (await sql`
    SELECT t.relname AS table, k.contype, pg_get_constraintdef(k.oid) AS def,
      (SELECT string_agg(a.attname, ',' ORDER BY u.ord) FROM unnest(k.conkey) WITH ORDINALITY u(attnum, ord)
         JOIN pg_attribute a ON a.attrelid = k.conrelid AND a.attnum = u.attnum) AS cols,
      f.relname AS ref_table,
      (SELECT string_agg(a.attname, ',' ORDER BY u.ord) FROM unnest(k.confkey) WITH ORDINALITY u(attnum, ord)
         JOIN pg_attribute a ON a.attrelid = k.confrelid AND a.attnum = u.attnum) AS ref_cols,
      k.confdeltype
    FROM pg_constraint k JOIN pg_class t ON t.oid = k.conrelid JOIN pg_namespace n ON n.oid = t.relnamespace
    LEFT JOIN pg_class f ON f.oid = k.confrelid
    WHERE n.nspname = 'public'`) as {
    table: string;
    contype: string;
    def: string;
    cols: string;
    ref_table: string | null;
    ref_cols: string | null;
    confdeltype: string;
  }[];
  for (const k of constraints) {
    const t = tables[k.table]!;
    if (k.contype === "p") t.primaryKey = k.cols.split(",");
    else if (k.contype === "u") t.uniques.push(k.cols);
    else if (k.contype === "f")
      t.foreignKeys.push(`(${k.cols}) -> ${k.ref_table}(${k.ref_cols}) ON DELETE ${FK_ACTION[k.confdeltype]}`);
    else if (k.contype === "c") t.checks.push(checkSignature(k.def, Object.keys(t.columns)));
  }
  const indexes = (await sql`
    SELECT i.relname AS name, t.relname AS table, ix.indisunique AS "unique", ix.indpred IS NOT NULL AS partial,
      (SELECT string_agg(CASE WHEN u.attnum = 0 THEN '<expr>' ELSE a.attname END
                         || CASE WHEN (ix.indoption[u.ord - 1] & 1) = 1 THEN ' desc' ELSE '' END, ',' ORDER BY u.ord)
         FROM unnest(ix.indkey::int2[]) WITH ORDINALITY u(attnum, ord)
         LEFT JOIN pg_attribute a ON a.attrelid = ix.indrelid AND a.attnum = u.attnum) AS cols
    FROM pg_index ix JOIN pg_class i ON i.oid = ix.indexrelid JOIN pg_class t ON t.oid = ix.indrelid
    JOIN pg_namespace n ON n.oid = t.relnamespace
    WHERE n.nspname = 'public' AND NOT EXISTS (SELECT 1 FROM pg_constraint k WHERE k.conindid = ix.indexrelid)`) as {
    name: string;
    table: string;
    unique: boolean;
    partial: boolean;
    cols: string;
  }[];
  for (const i of indexes)
    tables[i.table]!.indexes[i.name] = { unique: i.unique, partial: i.partial, columns: i.cols.split(",") };
  const triggers = (await sql`
    SELECT tg.tgname AS name, t.relname AS table FROM pg_trigger tg JOIN pg_class t ON t.oid = tg.tgrelid
    JOIN pg_namespace n ON n.oid = t.relnamespace WHERE n.nspname = 'public' AND NOT tg.tgisinternal`) as {
    name: string;
    table: string;
  }[];
  for (const tr of triggers) tables[tr.table]?.triggers.push(tr.name);
  return sorted({ tables, jsonColumns });
}

function sorted(s: SchemaShape): SchemaShape {
  for (const t of Object.values(s.tables)) {
    t.uniques.sort();
    t.foreignKeys.sort();
    t.checks.sort();
    t.triggers.sort();
  }
  s.jsonColumns.sort();
  return s;
}
