import type { Database } from "bun:sqlite";
import type { SQL } from "drizzle-orm";
import type { BaseSQLiteDatabase } from "drizzle-orm/sqlite-core";
import type * as schema from "./schema";

export type Dialect = "sqlite" | "pg";

/**
 * The table objects the repositories build queries from. On SQLite they are src/db/schema.ts; on
 * PostgreSQL the pg-core tables of the same names, columns and TypeScript types, cast to this type
 * where the PostgreSQL connection is opened (the one place the two dialects' types are equated).
 */
export type Tables = typeof schema;

/**
 * A query executor, typed as drizzle's asynchronous SQLite database: every query is awaited
 * (`await db.select()…` gives rows on both dialects). Repositories use only the builder surface
 * both dialects share: select/insert/update/delete, `.returning()`, `.limit()`,
 * `.onConflictDoUpdate()`, `sql` templates; never `.get()`, `.all()`, `.run()` or `.values()`,
 * which PostgreSQL's builders don't have.
 */
export type Db = BaseSQLiteDatabase<"async", unknown, Tables>;

type Params = Record<string, unknown>;
/** A query built with `sql.placeholder(...)` values, as drizzle's builders are before `.prepare()`. */
export interface Preparable<R> {
  prepare(name?: string): { all(params?: Params): Promise<R> | R };
}

/**
 * The metadata database as the repositories see it, whichever the dialect. Opened by
 * `openSqlite` (src/db/sqlite.connection.ts); the PostgreSQL one implements the same contract.
 */
/**
 * How a transaction body is kept correct. `conditional: true` declares that the body needs no
 * snapshot: every decision it makes is one conditional statement (a conditional UPDATE such as the
 * quota reservation's `WHERE used + reserved + n <= quota`, a status-guarded claim, an increment,
 * an insert). PostgreSQL then runs it at READ COMMITTED, concurrently with other transactions: a
 * writer of the same row waits for the row lock and re-checks the condition on the newest row,
 * instead of failing with a serialization error (docs/decisions.md, "Hot rows on PostgreSQL";
 * `repos.tenantTx` is the way the domain asks for it).
 * SQLite ignores it (its transactions are serialized anyway).
 */
export interface TxOptions {
  conditional?: boolean;
}

export interface Connection {
  readonly dialect: Dialect;
  readonly tables: Tables;
  /** The executor for the current call: the transaction's handle inside `tx`, else the root database. */
  exec(): Db;
  /** Rows of a raw SQL query (column names as written; quote mixed-case aliases for PostgreSQL). */
  rows<T>(query: SQL): Promise<T[]>;
  /**
   * A query prepared once (the hot paths: compiling per call cost a third of a small upload's
   * CPU on SQLite). `name` must be unique per connection (PostgreSQL names its statements). On
   * PostgreSQL a prepared statement belongs to the pool, not to a transaction, so inside `tx`
   * the query is built afresh on the transaction's handle; on SQLite the one connection is the
   * transaction's too, so the prepared statement always serves.
   */
  prepared<R>(name: string, build: (db: Db) => Preparable<R>): (params?: Params) => Promise<R>;
  /**
   * Runs `fn` in one transaction; repository calls made inside `fn` (however deeply awaited) run
   * in it, a nested `tx` joins it. SQLite: transactions serialized on the one connection, those of
   * one event-loop turn committed together (a SAVEPOINT each in one BEGIN IMMEDIATE … COMMIT;
   * sqlite-commit-groups.ts), each answered after that COMMIT. PostgreSQL: SERIALIZABLE, retried
   * on serialization failure or deadlock, so `fn` may run more than once: it must have no effect
   * outside the database (use `afterCommit`). With `opts.conditional` (see TxOptions) PostgreSQL
   * runs it at READ COMMITTED beside other transactions instead.
   */
  tx<T>(fn: () => Promise<T>, opts?: TxOptions): Promise<T>;
  /** Runs `effect` once the current transaction has committed (at once outside one); dropped on rollback. */
  afterCommit(effect: () => void): void;
  /**
   * Wraps a repository method so that, outside a transaction, it doesn't run while another
   * call's transaction is open (SQLite: one connection, so the statement would become part of
   * that transaction and share its fate). Identity where transactions have their own connection.
   */
  guard<A extends unknown[], R>(method: (...args: A) => Promise<R>): (...args: A) => Promise<R>;
  /**
   * Wakes every instance listening on `channel` (PostgreSQL NOTIFY): inside a transaction it is
   * delivered at commit and dropped on rollback. Absent on SQLite, where the one server process
   * wakes itself (afterCommit).
   */
  notify?(channel: string, payload: string): Promise<void>;
  /**
   * Calls `onNotify` with the payload of every `notify` on `channel`, from any instance (PostgreSQL
   * LISTEN on a dedicated connection, re-subscribed after a reconnect). Absent on SQLite.
   */
  listen?(channel: string, onNotify: (payload: string) => void): Promise<{ close(): Promise<void> }>;
  /** The SQLite handle, for what only SQLite has (backup, schema checks); null on PostgreSQL. */
  readonly sqlite: Database | null;
  close(): Promise<void>;
}
