import { and, eq, inArray, isNull, ne, or, type SQL } from "drizzle-orm";
import type { Connection } from "../connection";
import { dialectSql } from "../dialect-sql";

/** Which files a bulk move selects: by one tag, or by ids (the caller caps their number). */
export type FileSelector = { tag: { key: string; value: string } } | { fileIds: string[] };

export interface MoveCandidate {
  id: string;
  workspaceId: string | null;
  chargedBytes: number;
}

/**
 * Moving settled files between workspaces. Only completed and failed files move: an upload still
 * pending or mid-PUT settles into the workspace it was requested for, so it is never selected.
 */
export function createFileMovesRepo(conn: Connection) {
  const { files } = conn.tables;
  const { jsonHas } = dialectSql(conn.dialect);
  const db = () => conn.exec();
  return {
    /** The tenant's live, settled files matching `selector` that are not already in `target`. */
    async candidates(
      tenantId: string,
      target: string,
      selector: FileSelector,
      onlyUnassigned: boolean,
    ): Promise<MoveCandidate[]> {
      const c: (SQL | undefined)[] = [
        eq(files.tenantId, tenantId),
        isNull(files.deletedAt),
        inArray(files.processingStatus, ["completed", "failed"]),
        onlyUnassigned ? isNull(files.workspaceId) : or(isNull(files.workspaceId), ne(files.workspaceId, target)),
      ];
      if ("fileIds" in selector) c.push(inArray(files.id, selector.fileIds));
      else c.push(jsonHas(files.tags, selector.tag.key, selector.tag.value));
      return db()
        .select({ id: files.id, workspaceId: files.workspaceId, chargedBytes: files.chargedBytes })
        .from(files)
        .where(and(...c));
    },
    async setWorkspace(ids: string[], workspaceId: string, now: number): Promise<void> {
      // Bound variables per statement stay far below SQLite's limit: callers pass ≤ 500 ids or
      // one tag's matches, which are moved in slices.
      for (let i = 0; i < ids.length; i += 500)
        await db()
          .update(files)
          .set({ workspaceId, updatedAt: now })
          .where(inArray(files.id, ids.slice(i, i + 500)));
    },
  };
}
