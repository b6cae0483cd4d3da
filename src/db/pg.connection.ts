import { AsyncLocalStorage } from "node:async_hooks";
import type { SQL as BunSQL } from "bun";
import { type SQL, sql } from "drizzle-orm";
import { drizzle } from "drizzle-orm/bun-sql";
import type { Connection, Db, Tables, TxOptions } from "./connection";
import { openPostgres, type PgDb } from "./pg/connect";
import * as pgSchema from "./pg/schema";

/** SQLSTATEs after which a transaction is retried from the start: serialization failure, deadlock. */
const RETRYABLE = new Set(["40001", "40P01"]);
const MAX_ATTEMPTS = 20;

/** The open transaction of the current async context; `active` goes false when it ends. */
interface TxScope {
  active: boolean;
  /** Drizzle over the transaction's connection. */
  handle: PgDb;
  /** The transaction's connection itself (Bun.SQL), for the queries prepared on the pool. */
  client: BunSQL;
  effects: (() => void)[];
}

/** A drizzle prepared query (BunSQLPreparedQuery) as this file uses it. */
interface Runnable {
  execute(params?: Record<string, unknown>): Promise<unknown>;
}

/**
 * `prepared` run on another connection: a view of it whose `client` is `client`. Drizzle's
 * BunSQLPreparedQuery keeps its compiled SQL, parameter slots and row mapping on itself and
 * sends through `this.client` (a field private to its type, not to JavaScript), so the query
 * compiled once on the pool serves every transaction instead of being rebuilt by drizzle's
 * builder in each: that rebuilding was over a third of the server's CPU per small upload on
 * PostgreSQL (docs/decisions.md, "Hot rows on PostgreSQL"). test/db/pg-connection.test.ts pins it:
 * a prepared read inside a transaction must see the transaction's own uncommitted write.
 */
function onClient(prepared: Runnable, client: BunSQL): Runnable {
  if (!("client" in prepared)) throw new Error("drizzle's prepared query no longer carries its client");
  return Object.create(prepared, { client: { value: client } }) as Runnable;
}

/** The SQLSTATE of a PostgreSQL error, looked for along the cause chain (drizzle wraps driver errors). */
function sqlState(err: unknown): string | undefined {
  for (let e = err as { errno?: unknown; cause?: unknown } | undefined, i = 0; e && i < 5; e = e.cause as typeof e, i++)
    if (typeof e.errno === "string") return e.errno;
  return undefined;
}

/**
 * Opens PostgreSQL (a Bun.SQL pool, src/db/pg/connect.ts) as a Connection.
 *
 * The pg tables (src/db/pg/schema.ts) are cast to the SQLite table types here, the one place the
 * two dialects' types are equated; src/db/pg/schema-parity.ts fails the typecheck if their row
 * shapes ever differ. A transaction holds one pooled connection; calls outside it use the pool,
 * so no guard is needed. Transactions run at SERIALIZABLE, so the read-then-write bodies written
 * for SQLite's BEGIN IMMEDIATE stay correct across instances, and are retried (with a short
 * random backoff) when PostgreSQL reports a serialization failure or a deadlock.
 */
export function openPostgresConnection(url: string, opts: { max?: number } = {}): Connection & { pg: PgDb } {
  const root = openPostgres(url, opts);
  const scope = new AsyncLocalStorage<TxScope>();
  const current = () => {
    const tx = scope.getStore();
    return tx?.active ? tx : undefined;
  };
  const handle = (): PgDb => current()?.handle ?? root;

  // The transactions of one process run one at a time, as on SQLite. Nearly every transaction
  // moves a tenant's quota counters, a hot row: run concurrently at SERIALIZABLE, all but one of
  // a burst failed each round (50 uploads of one tenant: 200 request/PUT/DELETE cycles took 68 s,
  // and free-for-all retries ran out of attempts). Queued, a transaction conflicts only with
  // other instances', and those conflicts are retried. Reads outside transactions use the pool.
  let lane: Promise<unknown> = Promise.resolve();

  /**
   * One attempt at `fn` in a transaction of its own connection. The isolation level goes in the
   * BEGIN itself (drizzle's transaction() sends a separate SET TRANSACTION: one more round trip,
   * on every upload's three transactions).
   */
  async function attemptOnce<T>(fn: () => Promise<T>, isolationLevel: "SERIALIZABLE" | "READ COMMITTED"): Promise<T> {
    const tx: TxScope = { active: true, handle: root, client: root.$client, effects: [] };
    try {
      const result = await root.$client.begin(`ISOLATION LEVEL ${isolationLevel}`, (client) => {
        tx.client = client;
        // No schema: the repositories use the query builders only, never `db.query` (≈1 µs to make).
        tx.handle = drizzle({ client }) as unknown as PgDb;
        return scope.run(tx, fn);
      });
      tx.active = false;
      for (const effect of tx.effects) effect();
      return result as T;
    } finally {
      tx.active = false;
    }
  }

  /** Runs `attempt` until it commits, retrying serialization failures and deadlocks with jittered backoff. */
  async function withRetries<T>(attempt: () => Promise<T>): Promise<T> {
    for (let n = 1; ; n++) {
      try {
        return await attempt();
      } catch (err) {
        if (n >= MAX_ATTEMPTS || !RETRYABLE.has(sqlState(err) ?? "")) throw err;
        await Bun.sleep(Math.random() * Math.min(50, 2 ** n));
      }
    }
  }

  async function transaction<T>(fn: () => Promise<T>, opts: TxOptions = {}): Promise<T> {
    // A conditional body (TxOptions) runs at READ COMMITTED beside everything else: the hot-row
    // writers of one tenant wait for each other's row locks instead of failing; only a deadlock
    // (the tenant and file_stats rows taken in either order) is retried.
    if (opts.conditional) return withRetries(() => attemptOnce(fn, "READ COMMITTED"));
    // Another instance may win a conflict: the body is retried (in this process's lane).
    const turn = lane.then(() => withRetries(() => attemptOnce(fn, "SERIALIZABLE")));
    lane = turn.catch(() => {});
    return turn;
  }

  return {
    dialect: "pg",
    tables: pgSchema as unknown as Tables,
    sqlite: null,
    pg: root,
    exec: () => handle() as unknown as Db,
    rows: async <T>(query: SQL) => (await handle().execute(query)) as unknown as T[],
    prepared(name, build) {
      let pooled: Runnable | undefined;
      return async (params) => {
        pooled ??= (build(root as unknown as Db) as unknown as { prepare(name: string): Runnable }).prepare(name);
        const tx = current();
        if (tx) return onClient(pooled, tx.client).execute(params) as never;
        // On its own, a statement is its own transaction: one that lost a deadlock was rolled back
        // whole and is simply run again (a hot-path statement takes a files row and its tenant's).
        const run = pooled;
        return withRetries(() => run.execute(params)) as never;
      };
    },
    tx: (fn, opts) => (current() ? fn() : transaction(fn, opts)),
    afterCommit(effect) {
      const tx = current();
      if (tx) tx.effects.push(effect);
      else effect();
    },
    guard: (method) => method,
    async notify(channel, payload) {
      // On the transaction's handle inside tx: PostgreSQL delivers it at commit, drops it on rollback.
      await handle().execute(sql`SELECT pg_notify(${channel}, ${payload})`);
    },
    async listen(channel, onNotify) {
      // Bun.SQL listens on a dedicated connection of its own and re-subscribes after a reconnect.
      const sub = await root.$client.listen(channel, onNotify);
      return { close: () => sub.unlisten() };
    },
    close: () => root.$client.close(),
  };
}
