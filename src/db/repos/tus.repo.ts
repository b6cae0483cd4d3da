import { asc, eq, sql } from "drizzle-orm";
import type { Db } from "../client";
import { type TusUploadRow, tusUploadParts, tusUploads } from "../schema";

/** Resumable uploads in progress and their recorded parts. */
export function createTusRepo(db: Db) {
  const byIdQ = db
    .select()
    .from(tusUploads)
    .where(eq(tusUploads.fileId, sql.placeholder("id")))
    .prepare();
  const upsertPart = db.$client.query(
    "INSERT INTO tus_upload_parts (file_id, part_number, etag) VALUES (?1, ?2, ?3) ON CONFLICT (file_id, part_number) DO UPDATE SET etag = excluded.etag",
  );

  return {
    insert(row: Omit<TusUploadRow, "uploadOffset" | "tailVersion" | "updatedAt">): TusUploadRow {
      return db
        .insert(tusUploads)
        .values({ ...row, uploadOffset: 0, tailVersion: 0, updatedAt: row.createdAt })
        .returning()
        .get();
    },
    byFileId(fileId: string): TusUploadRow | undefined {
      return byIdQ.get({ id: fileId });
    },
    /** Records a durable step: the new offset and tail, and the parts stored since the last one. */
    checkpoint(
      fileId: string,
      c: { offset: number; tailVersion: number; parts: { number: number; etag: string }[] },
      now: number,
    ): void {
      for (const p of c.parts) upsertPart.run(fileId, p.number, p.etag);
      db.update(tusUploads)
        .set({ uploadOffset: c.offset, tailVersion: c.tailVersion, updatedAt: now })
        .where(eq(tusUploads.fileId, fileId))
        .run();
    },
    parts(fileId: string): { number: number; etag: string }[] {
      return db
        .select({ number: tusUploadParts.partNumber, etag: tusUploadParts.etag })
        .from(tusUploadParts)
        .where(eq(tusUploadParts.fileId, fileId))
        .orderBy(asc(tusUploadParts.partNumber))
        .all();
    },
    remove(fileId: string): void {
      db.delete(tusUploads).where(eq(tusUploads.fileId, fileId)).run();
    },
    /**
     * Rows the expiry job acts on: past their expiry, or whose file is no longer an upload in
     * progress (deleted, expired or failed through another path), or fully received but not yet
     * published (a crash between the last byte and the settle).
     */
    sweepable(now: number, limit: number): TusUploadRow[] {
      return db.all<TusUploadRow>(sql`
        SELECT u.file_id AS fileId, u.tenant_id AS tenantId, u.upload_length AS uploadLength,
          u.upload_offset AS uploadOffset, u.wrapped_key AS wrappedKey, u.key_id AS keyId,
          u.parts_id AS partsId, u.segments_per_part AS segmentsPerPart, u.tail_version AS tailVersion,
          u.metadata AS metadata, u.expires_at AS expiresAt, u.created_at AS createdAt, u.updated_at AS updatedAt
        FROM tus_uploads u JOIN files f ON f.id = u.file_id
        WHERE u.expires_at <= ${now} OR f.deleted_at IS NOT NULL OR f.processing_status IN ('failed', 'completed')
          OR u.upload_offset = u.upload_length
        LIMIT ${limit}`);
    },
  };
}
