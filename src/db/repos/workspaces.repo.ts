import { and, asc, eq, isNull } from "drizzle-orm";
import type { Db } from "../client";
import { type WorkspaceRow, workspaces } from "../schema";

export type WorkspacePatch = Partial<Pick<WorkspaceRow, "name" | "quotaBytes" | "metadata" | "authWorkspaceId">>;

/** Workspaces of a tenant. Deleted workspaces keep their row (deleted_at) for history. */
export function createWorkspacesRepo(db: Db) {
  return {
    insert(
      row: Pick<
        WorkspaceRow,
        "id" | "tenantId" | "name" | "slug" | "quotaBytes" | "metadata" | "authWorkspaceId" | "createdAt"
      >,
    ): WorkspaceRow {
      return db
        .insert(workspaces)
        .values({ ...row, usedBytes: 0, reservedBytes: 0, updatedAt: row.createdAt })
        .returning()
        .get();
    },
    liveById(tenantId: string, id: string): WorkspaceRow | undefined {
      return db
        .select()
        .from(workspaces)
        .where(and(eq(workspaces.id, id), eq(workspaces.tenantId, tenantId), isNull(workspaces.deletedAt)))
        .get();
    },
    /** Including deleted ones. */
    byIdAny(id: string): WorkspaceRow | undefined {
      return db.select().from(workspaces).where(eq(workspaces.id, id)).get();
    },
    liveBySlug(tenantId: string, slug: string): WorkspaceRow | undefined {
      return db
        .select()
        .from(workspaces)
        .where(and(eq(workspaces.tenantId, tenantId), eq(workspaces.slug, slug), isNull(workspaces.deletedAt)))
        .get();
    },
    /** The live workspace bound to `authWorkspaceId`, if any. */
    liveByAuthWorkspace(tenantId: string, authWorkspaceId: string): WorkspaceRow | undefined {
      return db
        .select()
        .from(workspaces)
        .where(
          and(
            eq(workspaces.tenantId, tenantId),
            eq(workspaces.authWorkspaceId, authWorkspaceId),
            isNull(workspaces.deletedAt),
          ),
        )
        .get();
    },
    list(tenantId: string): WorkspaceRow[] {
      return db
        .select()
        .from(workspaces)
        .where(and(eq(workspaces.tenantId, tenantId), isNull(workspaces.deletedAt)))
        .orderBy(asc(workspaces.createdAt), asc(workspaces.id))
        .all();
    },
    update(id: string, patch: WorkspacePatch, now: number): WorkspaceRow | undefined {
      return db
        .update(workspaces)
        .set({ ...patch, updatedAt: now })
        .where(eq(workspaces.id, id))
        .returning()
        .get();
    },
    markDeleted(id: string, now: number): void {
      db.update(workspaces).set({ deletedAt: now, updatedAt: now }).where(eq(workspaces.id, id)).run();
    },
  };
}
