import { randomUUID } from "node:crypto";
import type { Repos } from "../../db/repos";
import type { WorkspacePatch } from "../../db/repos/workspaces.repo";
import type { WorkspaceRow } from "../../db/schema";
import type { Clock } from "../shared/clock";
import { AppError } from "../shared/errors";

/** The workspace object of the API reference (timestamps in epoch seconds, as the seed shows). */
export function workspaceView(w: WorkspaceRow) {
  return {
    id: w.id,
    name: w.name,
    slug: w.slug,
    quotaBytes: w.quotaBytes,
    usedBytes: w.usedBytes,
    reservedBytes: w.reservedBytes,
    metadata: w.metadata,
    createdAt: Math.floor(w.createdAt / 1000),
    updatedAt: Math.floor(w.updatedAt / 1000),
  };
}

/** Workspaces partition a tenant's files; each has a unique slug and an optional quota. */
export function createWorkspacesService({ repos, clock }: { repos: Repos; clock: Clock }) {
  const getRow = (tenantId: string, id: string) => {
    const w = repos.workspaces.liveById(tenantId, id);
    if (!w) throw new AppError("NOT_FOUND", "Workspace not found", { workspaceId: id });
    return w;
  };
  return {
    getRow,
    get: (tenantId: string, id: string) => workspaceView(getRow(tenantId, id)),
    list: (tenantId: string) => ({ workspaces: repos.workspaces.list(tenantId).map(workspaceView) }),
    create(
      tenantId: string,
      input: { name: string; slug: string; quotaBytes?: number | null; metadata?: Record<string, unknown> | null },
    ) {
      return repos.tx(() => {
        if (repos.workspaces.liveBySlug(tenantId, input.slug))
          throw new AppError("CONFLICT", `A workspace with slug "${input.slug}" already exists`, { slug: input.slug });
        return workspaceView(
          repos.workspaces.insert({
            id: randomUUID(),
            tenantId,
            name: input.name,
            slug: input.slug,
            quotaBytes: input.quotaBytes ?? null,
            metadata: input.metadata ?? null,
            createdAt: clock.now(),
          }),
        );
      });
    },
    /** Lowering a quota below usage blocks new uploads and deletes nothing. */
    update(tenantId: string, id: string, patch: WorkspacePatch) {
      getRow(tenantId, id);
      return workspaceView(repos.workspaces.update(id, patch, clock.now())!);
    },
    /** Soft-deletes every file in the workspace and releases their bytes at workspace and tenant level, atomically. */
    delete(tenantId: string, id: string) {
      repos.tx(() => {
        const w = getRow(tenantId, id);
        const now = clock.now();
        for (const f of repos.files.liveInWorkspace(w.id)) {
          repos.files.softDelete(f.id, now);
          repos.quota.adjust(f, -f.reservedBytes, -f.chargedBytes);
        }
        repos.workspaces.markDeleted(w.id, now);
      });
    },
  };
}
export type WorkspacesService = ReturnType<typeof createWorkspacesService>;
