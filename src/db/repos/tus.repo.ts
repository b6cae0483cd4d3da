import { asc, eq, inArray, lte, or, sql } from "drizzle-orm";
import type { Connection } from "../connection";
import type { TusUploadRow } from "../schema";

/** Resumable uploads in progress and their recorded parts. */
export function createTusRepo(conn: Connection) {
  const { tusUploads, tusUploadParts, files } = conn.tables;
  const db = () => conn.exec();
  const byIdQ = conn.prepared("tus_by_id", (db) =>
    db
      .select()
      .from(tusUploads)
      .where(eq(tusUploads.fileId, sql.placeholder("id"))),
  );

  return {
    async insert(row: Omit<TusUploadRow, "uploadOffset" | "tailVersion" | "updatedAt">): Promise<TusUploadRow> {
      const [r] = await db()
        .insert(tusUploads)
        .values({ ...row, uploadOffset: 0, tailVersion: 0, updatedAt: row.createdAt })
        .returning();
      return r as TusUploadRow;
    },
    async byFileId(fileId: string): Promise<TusUploadRow | undefined> {
      return (await byIdQ({ id: fileId }))[0];
    },
    /** Records a durable step: the new offset and tail, and the parts stored since the last one. */
    async checkpoint(
      fileId: string,
      c: { offset: number; tailVersion: number; parts: { number: number; etag: string }[] },
      now: number,
    ): Promise<void> {
      for (const p of c.parts)
        await db()
          .insert(tusUploadParts)
          .values({ fileId, partNumber: p.number, etag: p.etag })
          .onConflictDoUpdate({ target: [tusUploadParts.fileId, tusUploadParts.partNumber], set: { etag: p.etag } });
      await db()
        .update(tusUploads)
        .set({ uploadOffset: c.offset, tailVersion: c.tailVersion, updatedAt: now })
        .where(eq(tusUploads.fileId, fileId));
    },
    async parts(fileId: string): Promise<{ number: number; etag: string }[]> {
      return db()
        .select({ number: tusUploadParts.partNumber, etag: tusUploadParts.etag })
        .from(tusUploadParts)
        .where(eq(tusUploadParts.fileId, fileId))
        .orderBy(asc(tusUploadParts.partNumber));
    },
    async remove(fileId: string): Promise<void> {
      await db().delete(tusUploads).where(eq(tusUploads.fileId, fileId));
    },
    /**
     * Rows the expiry job acts on: past their expiry, or whose file is no longer an upload in
     * progress (deleted, expired or failed through another path), or fully received but not yet
     * published (a crash between the last byte and the settle).
     */
    async sweepable(now: number, limit: number): Promise<TusUploadRow[]> {
      const rows = await db()
        .select({ u: tusUploads })
        .from(tusUploads)
        .innerJoin(files, eq(files.id, tusUploads.fileId))
        .where(
          or(
            lte(tusUploads.expiresAt, now),
            sql`${files.deletedAt} IS NOT NULL`,
            inArray(files.processingStatus, ["failed", "completed"]),
            eq(tusUploads.uploadOffset, tusUploads.uploadLength),
          ),
        )
        .limit(limit);
      return rows.map((r) => r.u);
    },
  };
}
