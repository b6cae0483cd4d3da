import { AsyncLocalStorage } from "node:async_hooks";
import type { SQL } from "drizzle-orm";
import { openDatabase } from "./client";
import type { Connection, Db } from "./connection";
import * as schema from "./schema";
import { CommitGroups } from "./sqlite-commit-groups";

/**
 * A FIFO lock with a synchronous fast path: `acquire()` returns undefined when the lock was free
 * (and is now held), else a promise that resolves once it is handed over. `release()` hands it to
 * the next waiter, so a waiter never races a newcomer.
 */
class ConnectionLock {
  private held = false;
  private readonly waiters: (() => void)[] = [];
  acquire(): Promise<void> | undefined {
    if (!this.held) {
      this.held = true;
      return undefined;
    }
    return new Promise((resolve) => this.waiters.push(resolve));
  }
  release(): void {
    const next = this.waiters.shift();
    if (next) next();
    else this.held = false;
  }
}

/** The open transaction of the current async context. `active` goes false at COMMIT/ROLLBACK. */
interface TxScope {
  active: boolean;
  effects: (() => void)[];
}

/**
 * Opens the SQLite metadata database (WAL, pragmas: client.ts) as a Connection.
 *
 * bun:sqlite has one connection per database handle, and a transaction is a state of that
 * connection. So that an awaiting transaction can't absorb other requests' statements, one lock
 * is taken by every transaction and by every repository call made outside a transaction (see
 * `guard`, applied to each repository method by createRepos): while a transaction is open, other
 * calls wait for its end. Statements run synchronously, so the lock is held for microseconds per
 * call; a transaction holds it from its start to its end, so its body must await only the
 * database. Transactions of one event-loop turn share one COMMIT (sqlite-commit-groups.ts), and
 * no call is answered before the COMMIT that holds its writes.
 */
export function openSqlite(path: string): Connection {
  const root = openDatabase(path);
  const sqlite = root.$client;
  const db = root as unknown as Db;
  const lock = new ConnectionLock();
  const scope = new AsyncLocalStorage<TxScope>();
  const inTx = () => scope.getStore()?.active === true;

  const groups = new CommitGroups(sqlite, lock);

  /** A call outside a transaction: inside the open commit group if there is one, answered after its COMMIT. */
  async function holding<A extends unknown[], R>(method: (...args: A) => Promise<R>, args: A): Promise<R> {
    const group = groups.current();
    let result: R;
    try {
      result = await method(...args);
    } finally {
      lock.release();
    }
    if (group) await group.committed;
    return result;
  }

  async function transaction<T>(fn: () => Promise<T>): Promise<T> {
    const wait = lock.acquire();
    if (wait) await wait;
    const tx: TxScope = { active: true, effects: [] };
    let result: T;
    let group: ReturnType<CommitGroups["begin"]>;
    try {
      group = groups.begin();
      try {
        result = await scope.run(tx, fn);
      } catch (err) {
        groups.end(group, false);
        throw err;
      }
      groups.end(group, true);
    } finally {
      tx.active = false;
      lock.release();
    }
    await group.committed;
    for (const effect of tx.effects) effect();
    return result;
  }

  return {
    dialect: "sqlite",
    tables: schema,
    sqlite,
    exec: () => db,
    rows: async <T>(query: SQL) => root.all<T>(query),
    prepared(_name, build) {
      const q = build(db).prepare();
      return async (params) => q.all(params);
    },
    tx: (fn) => (inTx() ? fn() : transaction(fn)),
    afterCommit(effect) {
      const tx = scope.getStore();
      if (tx?.active) tx.effects.push(effect);
      else effect();
    },
    guard(method) {
      return (...args) => {
        if (inTx()) return method(...args);
        const wait = lock.acquire();
        return wait ? wait.then(() => holding(method, args)) : holding(method, args);
      };
    },
    close: async () => {
      await groups.flush();
      sqlite.close();
    },
  };
}
