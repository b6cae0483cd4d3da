import type { Connection, TxOptions } from "../connection";
import { createAccessRepo } from "./access.repo";
import { createAdminStatsRepo } from "./admin-stats.repo";
import { createAuditRepo } from "./audit.repo";
import { createConsoleSessionsRepo } from "./console-sessions.repo";
import { createFileMovesRepo } from "./file-moves.repo";
import { createFileSweepsRepo } from "./file-sweeps.repo";
import { createFilesRepo } from "./files.repo";
import { createOpsRepo } from "./ops.repo";
import { createQuotaRepo } from "./quota.repo";
import { createRateLimitsRepo } from "./rate-limits.repo";
import { createSettingsRepo } from "./settings.repo";
import { createTenantsRepo } from "./tenants.repo";
import { createTusRepo } from "./tus.repo";
import { createUploadWrites } from "./upload-writes";
import { createWebhooksRepo } from "./webhooks.repo";
import { createWorkspacesRepo } from "./workspaces.repo";

// biome-ignore lint/suspicious/noExplicitAny: any method of any repository
type Methods = Record<string, (...args: any[]) => Promise<unknown>>;

/** The repository with every method guarded by the connection (see Connection.guard). */
function guarded<R extends Methods>(conn: Connection, repo: R): R {
  return Object.fromEntries(Object.entries(repo).map(([name, method]) => [name, conn.guard(method)])) as R;
}

/**
 * All repositories over one connection, plus a way to run several of their calls atomically.
 * Every method returns a promise; the same implementation serves SQLite and PostgreSQL.
 */
export function createRepos(conn: Connection) {
  const quota = guarded(conn, createQuotaRepo(conn));
  const files = guarded(conn, createFilesRepo(conn));
  return {
    settings: guarded(conn, createSettingsRepo(conn)),
    tenants: guarded(conn, createTenantsRepo(conn)),
    workspaces: guarded(conn, createWorkspacesRepo(conn)),
    files,
    /** The upload's writes to its tenant's hot rows, each atomic by itself (upload-writes.ts). */
    uploadWrites: createUploadWrites(conn, { files, quota }),
    fileSweeps: guarded(conn, createFileSweepsRepo(conn)),
    fileMoves: guarded(conn, createFileMovesRepo(conn)),
    quota,
    webhooks: guarded(conn, createWebhooksRepo(conn)),
    access: guarded(conn, createAccessRepo(conn)),
    audit: guarded(conn, createAuditRepo(conn)),
    ops: guarded(conn, createOpsRepo(conn)),
    tus: guarded(conn, createTusRepo(conn)),
    adminStats: guarded(conn, createAdminStatsRepo(conn)),
    consoleSessions: guarded(conn, createConsoleSessionsRepo(conn)),
    rateLimits: guarded(conn, createRateLimitsRepo(conn)),
    /**
     * Runs `fn` in one transaction: every repository call awaited inside it is part of it, a
     * nested `tx` joins it (Connection.tx). On SQLite it is BEGIN IMMEDIATE (the write lock is
     * taken at BEGIN, so a read-then-write inside can't race another writer); on PostgreSQL
     * SERIALIZABLE with retries, so `fn` may run again: effects outside the database go through
     * `afterCommit`, and `fn` awaits nothing but the database. `opts.conditional` declares a body
     * kept correct by its conditional statements alone (TxOptions): PostgreSQL runs it at READ
     * COMMITTED beside other transactions; the upload hot path uses it.
     */
    tx<T>(fn: () => Promise<T>, opts?: TxOptions): Promise<T> {
      return conn.tx(fn, opts);
    },
    /** A conditional transaction (TxOptions) on one tenant's hot rows, which it locks first so that every such transaction takes them in one order. */
    tenantTx<T>(tenantId: string, fn: () => Promise<T>): Promise<T> {
      return conn.tx(
        async () => {
          await quota.lockTenant(tenantId);
          return fn();
        },
        { conditional: true },
      );
    },
    /**
     * A conditional transaction (TxOptions) whose body takes the tenant's hot rows itself, in the
     * order tenantTx would: it writes the tenant's row (a reservation or an adjustment, which
     * locks it) before any workspace or file_stats row, which another such transaction could hold
     * while waiting for the tenant (rows of the body's own upload may come first: nobody else
     * waits for them). It saves tenantTx's separate lock statement, a round trip made while every
     * other upload of the tenant waits (docs/decisions.md, "Hot rows on PostgreSQL"). A body whose
     * first write may not happen (a reservation refused) locks the tenant before writing anything
     * else (`quota.lockTenant`).
     */
    quotaTx<T>(fn: () => Promise<T>): Promise<T> {
      return conn.tx(fn, { conditional: true });
    },
    /** Runs `effect` after the current transaction commits (at once outside one). */
    afterCommit(effect: () => void): void {
      conn.afterCommit(effect);
    },
    dialect: conn.dialect,
  };
}
export type Repos = ReturnType<typeof createRepos>;
