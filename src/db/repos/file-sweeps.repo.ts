import { type AnyColumn, and, eq, gt, inArray, isNotNull, isNull, lte, type SQL, sql } from "drizzle-orm";
import type { Connection, Tables } from "../connection";
import { dialectSql } from "../dialect-sql";
import type { FileRow } from "../schema";

/**
 * How long a sweep's claim on a unit of work lasts (purge and failed-object deletes here, the tus
 * sweep in tus.repo.ts). Within it no other instance takes the unit; a claimer that dies has it
 * retaken after it. Generous: a unit may be an S3 delete or a multi-GiB tus settle, and a unit
 * taken twice is only repeated work (deletes are idempotent, settles conditional).
 */
export const SWEEP_LEASE_MS = 5 * 60_000;

/** A row no live sweep claim holds: never claimed, or its claim (`column`) has ended by `now`. */
export const unleased = (column: AnyColumn, now: number): SQL => sql`(${column} IS NULL OR ${column} <= ${now})`;

/*
 * Status conditions are literal SQL so SQLite can use the partial indexes
 * (files_pending_expiry, files_processing_started, files_failed_unpurged): a bound parameter can't
 * prove a partial index's WHERE clause.
 */
function conditions(files: Tables["files"]) {
  const PROCESSING = sql`${files.processingStatus} = 'processing'`;
  return {
    PROCESSING,
    /** Pending uploads whose PUT never came, past their expiry (the IN clause matches the index). */
    pendingDue: (now: number): SQL | undefined =>
      and(
        sql`${files.processingStatus} IN ('pending', 'processing')`,
        sql`${files.processingStatus} = 'pending'`,
        lte(files.uploadExpiresAt, now),
        isNull(files.deletedAt),
      ),
    /** Uploads stuck mid-PUT since before `stalledBefore`. */
    stalledSince: (stalledBefore: number): SQL | undefined =>
      and(PROCESSING, lte(files.uploadStartedAt, stalledBefore), isNull(files.deletedAt)),
    /** Soft-deleted past their retention, object maybe still stored. */
    purgeable: (deletedBefore: number): SQL | undefined =>
      and(isNotNull(files.deletedAt), isNull(files.purgedAt), lte(files.deletedAt, deletedBefore)),
  };
}

/**
 * The file queries of the background work: start-up recovery, upload expiry, purge and the
 * sweeps that delete leftover objects, plus their backlog measurements (jobs/backlog.ts).
 * Request handling lives in files.repo.ts.
 */
export function createFileSweepsRepo(conn: Connection) {
  const { files } = conn.tables;
  const { PROCESSING, pendingDue, stalledSince, purgeable } = conditions(files);
  const db = () => conn.exec();
  const { skipLocked } = dialectSql(conn.dialect);
  /**
   * Claims up to `limit` rows matching `due` that no live claim holds, for SWEEP_LEASE_MS, and
   * returns them. One statement; on PostgreSQL rows locked by another instance's claim are skipped.
   */
  const claim = (due: SQL | undefined, now: number, limit: number): Promise<FileRow[]> =>
    db()
      .update(files)
      .set({ sweepLeaseUntil: now + SWEEP_LEASE_MS })
      .where(
        sql`${files.id} IN (SELECT ${files.id} FROM ${files} WHERE ${and(due, unleased(files.sweepLeaseUntil, now))} LIMIT ${limit}${skipLocked})`,
      )
      .returning();
  const countAndOldest = async (column: AnyColumn, where: SQL | undefined) =>
    (
      await db()
        .select({
          n: sql<number>`count(*)`.mapWith(Number),
          oldest: sql<number | null>`min(${column})`.mapWith(Number),
        })
        .from(files)
        .where(where)
    )[0] ?? { n: 0, oldest: null };
  return {
    /**
     * Reopens `processing` rows of two-step uploads (their PUT may be retried). Rows with no size
     * yet are multipart uploads that cannot resume: they are returned for the caller to fail.
     */
    async resetProcessing(now: number): Promise<{ reopened: number; unresumable: FileRow[] }> {
      const reopened = (
        await db()
          .update(files)
          .set({ processingStatus: "pending", uploadStartedAt: null, updatedAt: now })
          .where(and(PROCESSING, gt(files.sizeBytes, 0)))
          .returning({ one: sql`1` })
      ).length;
      const unresumable = await db()
        .select()
        .from(files)
        .where(and(PROCESSING, eq(files.sizeBytes, 0), isNull(files.deletedAt)));
      return { reopened, unresumable };
    },
    /** Storage keys of every not-yet-purged file of a tenant (for a forced tenant delete). */
    async unpurgedKeys(tenantId: string): Promise<string[]> {
      const rows = await db()
        .select({ k: files.storageKey })
        .from(files)
        .where(and(eq(files.tenantId, tenantId), isNull(files.purgedAt)));
      return rows.map((r) => r.k);
    },
    /** One tenant's uploads still waiting for their PUT past their expiry (they hold quota for nothing). */
    async duePendingUploads(tenantId: string, now: number, limit: number): Promise<FileRow[]> {
      return db()
        .select()
        .from(files)
        .where(and(eq(files.tenantId, tenantId), pendingDue(now)))
        .limit(limit);
    },
    /** Uploads whose PUT never came (pending past expiry) or stalled mid-PUT past the grace period. */
    async expiredUploads(now: number, stalledBefore: number, limit: number): Promise<FileRow[]> {
      const pending = await db().select().from(files).where(pendingDue(now)).limit(limit);
      const stalled = await db().select().from(files).where(stalledSince(stalledBefore)).limit(limit);
      return [...pending, ...stalled].slice(0, limit);
    },
    /**
     * How much expiry work is due now, for backlog reports: the count of uploads `expiredUploads`
     * would return without a limit, the earliest `expiresAt` among pending ones and the earliest
     * PUT start among stalled ones (same partial indexes, so it costs one index range per kind).
     */
    async expiryBacklog(
      now: number,
      stalledBefore: number,
    ): Promise<{ count: number; oldestExpiresAt: number | null; oldestStalledStart: number | null }> {
      const pending = await countAndOldest(files.uploadExpiresAt, pendingDue(now));
      const stalled = await countAndOldest(files.uploadStartedAt, stalledSince(stalledBefore));
      return { count: pending.n + stalled.n, oldestExpiresAt: pending.oldest, oldestStalledStart: stalled.oldest };
    },
    /** How many files `purgeDue` would return without a limit, and the earliest deletion among them. */
    async purgeBacklog(deletedBefore: number): Promise<{ count: number; oldestDeletedAt: number | null }> {
      const r = await countAndOldest(files.deletedAt, purgeable(deletedBefore));
      return { count: r.n, oldestDeletedAt: r.oldest };
    },
    /**
     * Claims soft-deleted files whose retention has passed and whose object may still exist
     * (each claim lasts SWEEP_LEASE_MS; end it with markPurged or releaseSweep).
     */
    async claimPurgeDue(deletedBefore: number, now: number, limit: number): Promise<FileRow[]> {
      return claim(purgeable(deletedBefore), now, limit);
    },
    /**
     * Claims failed uploads whose object (partial or rejected) may still exist; partial index
     * files_failed_unpurged. Claimed like claimPurgeDue.
     */
    async claimFailedUnpurged(now: number, limit: number): Promise<FileRow[]> {
      return claim(and(sql`${files.processingStatus} = 'failed'`, isNull(files.purgedAt)), now, limit);
    },
    /** Marks rows purged (their object is gone) and ends their claims; returns how many were not purged yet. */
    async markPurged(ids: string[], now: number): Promise<number> {
      if (ids.length === 0) return 0;
      const rows = await db()
        .update(files)
        .set({ purgedAt: now, sweepLeaseUntil: null })
        .where(and(inArray(files.id, ids), isNull(files.purgedAt)))
        .returning({ one: sql`1` });
      return rows.length;
    },
    /** Ends claims without purging (the delete failed): the rows are due again on the next run. */
    async releaseSweep(ids: string[]): Promise<void> {
      if (ids.length) await db().update(files).set({ sweepLeaseUntil: null }).where(inArray(files.id, ids));
    },
  };
}
