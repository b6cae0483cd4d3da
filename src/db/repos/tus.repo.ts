import { asc, eq, inArray, lte, or, sql } from "drizzle-orm";
import type { Connection } from "../connection";
import type { TusUploadRow } from "../schema";
import { SWEEP_LEASE_MS, unleased } from "./file-sweeps.repo";

/** Resumable uploads in progress and their recorded parts. */
export function createTusRepo(conn: Connection) {
  const { tusUploads, tusUploadParts, files } = conn.tables;
  const db = () => conn.exec();
  // Locks only the claimed tus rows, not the files rows joined to pick them.
  const skipLockedOf = conn.dialect === "pg" ? sql` FOR UPDATE OF ${tusUploads} SKIP LOCKED` : sql``;
  const byIdQ = conn.prepared("tus_by_id", (db) =>
    db
      .select()
      .from(tusUploads)
      .where(eq(tusUploads.fileId, sql.placeholder("id"))),
  );

  return {
    async insert(
      row: Omit<TusUploadRow, "uploadOffset" | "tailVersion" | "updatedAt" | "sweepLeaseUntil">,
    ): Promise<TusUploadRow> {
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
     * Claims rows the expiry job acts on, for SWEEP_LEASE_MS: past their expiry, or whose file is
     * no longer an upload in progress (deleted, expired or failed through another path), or fully
     * received but not yet published (a crash between the last byte and the settle). A row another
     * instance's sweep holds is not returned (on PostgreSQL, skipped while its claim is being
     * taken); each claim ends with `remove` or `releaseSweep`.
     */
    async claimSweepable(now: number, limit: number): Promise<TusUploadRow[]> {
      const due = sql`SELECT ${tusUploads.fileId} FROM ${tusUploads} INNER JOIN ${files} ON ${files.id} = ${tusUploads.fileId}
        WHERE ${or(
          lte(tusUploads.expiresAt, now),
          sql`${files.deletedAt} IS NOT NULL`,
          inArray(files.processingStatus, ["failed", "completed"]),
          eq(tusUploads.uploadOffset, tusUploads.uploadLength),
        )} AND ${unleased(tusUploads.sweepLeaseUntil, now)}
        LIMIT ${limit}${skipLockedOf}`;
      return db()
        .update(tusUploads)
        .set({ sweepLeaseUntil: now + SWEEP_LEASE_MS })
        .where(sql`${tusUploads.fileId} IN (${due})`)
        .returning();
    },
    /** Ends a sweep's claim on an upload it left in place (still in progress, or its settle failed). */
    async releaseSweep(fileId: string): Promise<void> {
      await db().update(tusUploads).set({ sweepLeaseUntil: null }).where(eq(tusUploads.fileId, fileId));
    },
  };
}
