import { AsyncLocalStorage } from "node:async_hooks";
import { type SQL, sql } from "drizzle-orm";
import type { Connection, Db, Tables, TxOptions } from "./connection";
import { openPostgres, type PgDb } from "./pg/connect";
import * as pgSchema from "./pg/schema";

/** SQLSTATEs after which a transaction is retried from the start: serialization failure, deadlock. */
const RETRYABLE = new Set(["40001", "40P01"]);
const MAX_ATTEMPTS = 20;

/** The open transaction of the current async context; `active` goes false when it ends. */
interface TxScope {
  active: boolean;
  handle: PgDb;
  effects: (() => void)[];
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

  async function attemptOnce<T>(fn: () => Promise<T>, isolationLevel: "serializable" | "read committed"): Promise<T> {
    const tx: TxScope = { active: true, handle: root, effects: [] };
    try {
      const result = await root.transaction(
        (h) => {
          tx.handle = h as unknown as PgDb;
          return scope.run(tx, fn);
        },
        { isolationLevel },
      );
      tx.active = false;
      for (const effect of tx.effects) effect();
      return result;
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
    if (opts.conditional) return withRetries(() => attemptOnce(fn, "read committed"));
    // Another instance may win a conflict: the body is retried (in this process's lane).
    const turn = lane.then(() => withRetries(() => attemptOnce(fn, "serializable")));
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
      type Runnable = { execute(params?: Record<string, unknown>): Promise<unknown> };
      let pooled: Runnable | undefined;
      return async (params) => {
        const tx = current();
        // A prepared query is bound to the pool's client: inside a transaction, build it afresh on the transaction's.
        if (tx) return (build(tx.handle as unknown as Db) as unknown as Runnable).execute(params) as never;
        pooled ??= (build(root as unknown as Db) as unknown as { prepare(name: string): Runnable }).prepare(name);
        return pooled.execute(params) as never;
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
