import { randomUUID } from "node:crypto";
import type { Repos } from "../../db/repos";
import type { FileSelector } from "../../db/repos/file-moves.repo";
import type { WorkspacePatch } from "../../db/repos/workspaces.repo";
import type { WorkspaceRow } from "../../db/schema";
import type { Clock } from "../shared/clock";
import { AppError, present, validation } from "../shared/errors";
import { assertFreeformJson } from "../shared/json-limits";
import { liveWorkspace } from "./live-workspace";

/** Most file ids one bulk move may name. */
export const MAX_MOVE_FILE_IDS = 500;

export interface MoveFilesInput {
  workspaceId: string;
  filter: { tag?: { key: string; value: string }; fileIds?: string[] };
  /** Only files in no workspace (default true). */
  onlyUnassigned?: boolean;
}

/** The workspace object (timestamps in epoch seconds, the one exception: docs/api.md, "Timestamps"). */
export function workspaceView(w: WorkspaceRow) {
  return {
    id: w.id,
    name: w.name,
    slug: w.slug,
    quotaBytes: w.quotaBytes,
    usedBytes: w.usedBytes,
    reservedBytes: w.reservedBytes,
    metadata: w.metadata,
    authWorkspaceId: w.authWorkspaceId,
    createdAt: Math.floor(w.createdAt / 1000),
    updatedAt: Math.floor(w.updatedAt / 1000),
  };
}

/** Exactly one of `tag` or `fileIds` (1 to MAX_MOVE_FILE_IDS ids) selects the files to move. */
function selectorOf(filter: MoveFilesInput["filter"]): FileSelector {
  if (filter.tag && filter.fileIds)
    throw validation("filter takes either tag or fileIds, not both", { field: "filter" });
  if (filter.tag) return { tag: filter.tag };
  if (filter.fileIds && filter.fileIds.length > 0) {
    if (filter.fileIds.length > MAX_MOVE_FILE_IDS)
      throw validation(`filter.fileIds takes at most ${MAX_MOVE_FILE_IDS} ids`, {
        field: "filter.fileIds",
        max: MAX_MOVE_FILE_IDS,
      });
    return { fileIds: [...new Set(filter.fileIds)] };
  }
  throw validation("filter needs tag or fileIds", { field: "filter" });
}

/** Workspaces partition a tenant's files; each has a unique slug and an optional quota. */
export function createWorkspacesService({ repos, clock }: { repos: Repos; clock: Clock }) {
  const getRow = (tenantId: string, id: string) => liveWorkspace(repos, tenantId, id);
  /** A binding to an external workspace is unique among the tenant's live workspaces. */
  const assertAuthWorkspaceFree = async (
    tenantId: string,
    authWorkspaceId: string | null | undefined,
    self?: string,
  ) => {
    if (!authWorkspaceId) return;
    const holder = await repos.workspaces.liveByAuthWorkspace(tenantId, authWorkspaceId);
    if (holder && holder.id !== self)
      throw new AppError("CONFLICT", "Another workspace is already bound to this authWorkspaceId", {
        authWorkspaceId,
        workspaceId: holder.id,
      });
  };
  return {
    getRow,
    get: async (tenantId: string, id: string) => workspaceView(await getRow(tenantId, id)),
    list: async (tenantId: string) => ({ workspaces: (await repos.workspaces.list(tenantId)).map(workspaceView) }),
    async create(
      tenantId: string,
      input: {
        name: string;
        slug: string;
        quotaBytes?: number | null;
        metadata?: Record<string, unknown> | null;
        authWorkspaceId?: string | null;
      },
    ) {
      assertFreeformJson("metadata", input.metadata);
      return await repos.tx(async () => {
        if (await repos.workspaces.liveBySlug(tenantId, input.slug))
          throw new AppError("CONFLICT", `A workspace with slug "${input.slug}" already exists`, { slug: input.slug });
        await assertAuthWorkspaceFree(tenantId, input.authWorkspaceId);
        return workspaceView(
          await repos.workspaces.insert({
            id: randomUUID(),
            tenantId,
            name: input.name,
            slug: input.slug,
            quotaBytes: input.quotaBytes ?? null,
            metadata: input.metadata ?? null,
            authWorkspaceId: input.authWorkspaceId ?? null,
            createdAt: clock.now(),
          }),
        );
      });
    },
    /** Lowering a quota below usage blocks new uploads and deletes nothing. */
    async update(tenantId: string, id: string, patch: WorkspacePatch) {
      assertFreeformJson("metadata", patch.metadata);
      return await repos.tx(async () => {
        await getRow(tenantId, id);
        await assertAuthWorkspaceFree(tenantId, patch.authWorkspaceId, id);
        return workspaceView(present(await repos.workspaces.update(id, patch, clock.now()), "workspace"));
      });
    },
    /**
     * Moves a tenant's settled files (by tag or by ids) into one of its workspaces, atomically: the
     * file rows and the workspace usages change in one transaction, and a move that would take
     * the target past its quota is refused whole (nothing moves). Tenant usage is unchanged.
     * `totalBytes` is the charged bytes that moved. Ids of other tenants simply never match.
     */
    async moveFiles(tenantId: string, input: MoveFilesInput) {
      const selector = selectorOf(input.filter);
      return await repos.tx(async () => {
        const target = await getRow(tenantId, input.workspaceId);
        const moving = await repos.fileMoves.candidates(tenantId, target.id, selector, input.onlyUnassigned ?? true);
        const totalBytes = moving.reduce((n, f) => n + f.chargedBytes, 0);
        if (totalBytes > 0 && !(await repos.quota.chargeWorkspace(target.id, totalBytes)))
          throw new AppError("QUOTA_EXCEEDED", "Workspace storage quota exceeded", {
            scope: "workspace",
            workspaceId: target.id,
            quotaBytes: target.quotaBytes,
            usedBytes: target.usedBytes,
            reservedBytes: target.reservedBytes,
            requestedBytes: totalBytes,
          });
        const leaving = new Map<string, number>();
        for (const f of moving)
          if (f.workspaceId && f.chargedBytes)
            leaving.set(f.workspaceId, (leaving.get(f.workspaceId) ?? 0) + f.chargedBytes);
        for (const [id, bytes] of leaving) await repos.quota.unchargeWorkspace(id, bytes);
        await repos.fileMoves.setWorkspace(
          moving.map((f) => f.id),
          target.id,
          clock.now(),
        );
        return { migratedCount: moving.length, totalBytes, workspaceId: target.id };
      });
    },
    /** Soft-deletes every file in the workspace and releases their bytes at workspace and tenant level, atomically. */
    async delete(tenantId: string, id: string) {
      await repos.tx(async () => {
        const w = await getRow(tenantId, id);
        const now = clock.now();
        for (const f of await repos.files.liveInWorkspace(w.id)) {
          await repos.files.softDelete(f.id, now);
          await repos.quota.adjust(f, -f.reservedBytes, -f.chargedBytes);
        }
        await repos.workspaces.markDeleted(w.id, now);
      });
    },
  };
}
export type WorkspacesService = ReturnType<typeof createWorkspacesService>;
