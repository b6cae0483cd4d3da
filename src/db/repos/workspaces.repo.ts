import { and, asc, eq, isNull } from "drizzle-orm";
import type { Connection } from "../connection";
import type { WorkspaceRow } from "../schema";

export type WorkspacePatch = Partial<Pick<WorkspaceRow, "name" | "quotaBytes" | "metadata" | "authWorkspaceId">>;

/** Workspaces of a tenant. Deleted workspaces keep their row (deleted_at) for history. */
export function createWorkspacesRepo(conn: Connection) {
  const { workspaces } = conn.tables;
  const db = () => conn.exec();
  const first = async (where: ReturnType<typeof and>): Promise<WorkspaceRow | undefined> =>
    (await db().select().from(workspaces).where(where).limit(1))[0];
  return {
    async insert(
      row: Pick<
        WorkspaceRow,
        "id" | "tenantId" | "name" | "slug" | "quotaBytes" | "metadata" | "authWorkspaceId" | "createdAt"
      >,
    ): Promise<WorkspaceRow> {
      const [r] = await db()
        .insert(workspaces)
        .values({ ...row, usedBytes: 0, reservedBytes: 0, updatedAt: row.createdAt })
        .returning();
      return r as WorkspaceRow;
    },
    async liveById(tenantId: string, id: string): Promise<WorkspaceRow | undefined> {
      return first(and(eq(workspaces.id, id), eq(workspaces.tenantId, tenantId), isNull(workspaces.deletedAt)));
    },
    /** Including deleted ones. */
    async byIdAny(id: string): Promise<WorkspaceRow | undefined> {
      return first(eq(workspaces.id, id));
    },
    async liveBySlug(tenantId: string, slug: string): Promise<WorkspaceRow | undefined> {
      return first(and(eq(workspaces.tenantId, tenantId), eq(workspaces.slug, slug), isNull(workspaces.deletedAt)));
    },
    /** The live workspace bound to `authWorkspaceId`, if any. */
    async liveByAuthWorkspace(tenantId: string, authWorkspaceId: string): Promise<WorkspaceRow | undefined> {
      return first(
        and(
          eq(workspaces.tenantId, tenantId),
          eq(workspaces.authWorkspaceId, authWorkspaceId),
          isNull(workspaces.deletedAt),
        ),
      );
    },
    async list(tenantId: string): Promise<WorkspaceRow[]> {
      return db()
        .select()
        .from(workspaces)
        .where(and(eq(workspaces.tenantId, tenantId), isNull(workspaces.deletedAt)))
        .orderBy(asc(workspaces.createdAt), asc(workspaces.id));
    },
    async update(id: string, patch: WorkspacePatch, now: number): Promise<WorkspaceRow | undefined> {
      const [r] = await db()
        .update(workspaces)
        .set({ ...patch, updatedAt: now })
        .where(eq(workspaces.id, id))
        .returning();
      return r;
    },
    async markDeleted(id: string, now: number): Promise<void> {
      await db().update(workspaces).set({ deletedAt: now, updatedAt: now }).where(eq(workspaces.id, id));
    },
  };
}
