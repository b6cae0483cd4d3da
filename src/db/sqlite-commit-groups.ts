import type { Database } from "bun:sqlite";

/** One shared transaction: its members' writes, committed together at the end of a turn. */
interface Group {
  /** Settles at the group's COMMIT: resolved once it succeeded, rejected when it didn't. */
  committed: Promise<void>;
  resolve(): void;
  reject(err: unknown): void;
  /** Set when SQLite rolled the whole transaction back under a member: nobody's writes remain. */
  lost?: unknown;
}

/**
 * Group commit for the one SQLite connection (docs/decisions.md, "Group commit on SQLite").
 *
 * The first transaction of an event-loop turn opens a group: BEGIN IMMEDIATE, and a COMMIT
 * scheduled for the end of the turn (setImmediate). Every transaction and repository call made
 * while the group is open runs inside it, a transaction in a SAVEPOINT of its own (its failure
 * rolls back only its own writes), and is answered only after the group's COMMIT succeeded: a
 * failed COMMIT fails every member, so nothing is reported done that was not made durable.
 * Concurrent uploads then share one COMMIT (one WAL append, one lock round) instead of paying
 * one each. Calls made while no group is open run on their own (autocommit), as reads do when
 * nothing is being written.
 *
 * The caller holds the connection lock (sqlite.connection.ts) around `begin`/`end`; `commit`
 * takes it itself, so it waits for the member in progress.
 */
export class CommitGroups {
  private open: Group | null = null;

  constructor(
    private readonly sqlite: Database,
    private readonly lock: { acquire(): Promise<void> | undefined; release(): void },
  ) {}

  /** The open group, if any (a call outside a transaction joins it but opens none). */
  current(): Group | null {
    return this.open;
  }

  /** Starts a transaction as a member of the open group, opening one if there is none. */
  begin(): Group {
    if (this.open && !this.sqlite.inTransaction) this.markLost(this.open); // rolled back under a plain call
    if (!this.open) {
      this.sqlite.exec("BEGIN IMMEDIATE");
      const { promise: committed, resolve, reject } = Promise.withResolvers<void>();
      committed.catch(() => {}); // a group whose members all failed has no one awaiting it
      const group: Group = { committed, resolve, reject };
      this.open = group;
      setImmediate(() => void this.commit(group));
    }
    this.sqlite.exec("SAVEPOINT member");
    return this.open;
  }

  /** Ends the member `begin` started: kept (`ok`) or rolled back to its savepoint. */
  end(group: Group, ok: boolean): void {
    if (!this.sqlite.inTransaction) {
      this.markLost(group);
      return;
    }
    if (ok) this.sqlite.exec("RELEASE member");
    else {
      this.sqlite.exec("ROLLBACK TO member");
      this.sqlite.exec("RELEASE member");
    }
  }

  /**
   * SQLite rolled the whole transaction back (a full disk, an I/O error): every member's writes
   * are gone, so the group fails at its commit, and the next transaction opens a new one.
   */
  private markLost(group: Group): void {
    group.lost ??= new Error("the shared transaction was rolled back by SQLite");
    if (this.open === group) this.open = null;
  }

  /** Commits `group` (or fails its members); waits for the member in progress. */
  private async commit(group: Group): Promise<void> {
    const wait = this.lock.acquire();
    if (wait) await wait;
    try {
      if (group.lost) throw group.lost;
      this.open = null;
      this.sqlite.exec("COMMIT");
      group.resolve();
    } catch (err) {
      if (!group.lost && this.sqlite.inTransaction) this.sqlite.exec("ROLLBACK");
      group.reject(err);
    } finally {
      this.lock.release();
    }
  }

  /** Waits for the open group's COMMIT (before closing the database). */
  async flush(): Promise<void> {
    await this.open?.committed.catch(() => {});
  }
}
