import type { Db } from "../client";
import { createAccessRepo } from "./access.repo";
import { createAdminStatsRepo } from "./admin-stats.repo";
import { createAuditRepo } from "./audit.repo";
import { createConsoleSessionsRepo } from "./console-sessions.repo";
import { createFileMovesRepo } from "./file-moves.repo";
import { createFileSweepsRepo } from "./file-sweeps.repo";
import { createFilesRepo } from "./files.repo";
import { createOpsRepo } from "./ops.repo";
import { createQuotaRepo } from "./quota.repo";
import { createSettingsRepo } from "./settings.repo";
import { createTenantsRepo } from "./tenants.repo";
import { createTusRepo } from "./tus.repo";
import { createWebhooksRepo } from "./webhooks.repo";
import { createWorkspacesRepo } from "./workspaces.repo";

/** All repositories over one connection, plus a way to run several of their calls atomically. */
export function createRepos(db: Db) {
  return {
    settings: createSettingsRepo(db),
    tenants: createTenantsRepo(db),
    workspaces: createWorkspacesRepo(db),
    files: createFilesRepo(db),
    fileSweeps: createFileSweepsRepo(db),
    fileMoves: createFileMovesRepo(db),
    quota: createQuotaRepo(db),
    webhooks: createWebhooksRepo(db),
    access: createAccessRepo(db),
    audit: createAuditRepo(db),
    ops: createOpsRepo(db),
    tus: createTusRepo(db),
    adminStats: createAdminStatsRepo(db),
    consoleSessions: createConsoleSessionsRepo(db),
    /**
     * Runs `fn` in one IMMEDIATE transaction (the write lock is taken at BEGIN, so a
     * read-then-write inside can't race another writer). bun:sqlite is synchronous: `fn` must not await.
     */
    tx<T>(fn: () => T): T {
      return db.$client.transaction(fn).immediate();
    },
  };
}
export type Repos = ReturnType<typeof createRepos>;
