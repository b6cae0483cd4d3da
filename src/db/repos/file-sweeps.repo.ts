import { type AnyColumn, and, eq, gt, inArray, isNotNull, isNull, lte, type SQL, sql } from "drizzle-orm";
import type { Db } from "../client";
import { type FileRow, files } from "../schema";

/*
 * Status conditions are literal SQL so SQLite can use the partial indexes
 * (files_pending_expiry, files_processing_started, files_failed_unpurged): a bound parameter can't
 * prove a partial index's WHERE clause.
 */
const PROCESSING = sql`${files.processingStatus} = 'processing'`;
/** Pending uploads whose PUT never came, past their expiry (the IN clause matches the index). */
const pendingDue = (now: number): SQL | undefined =>
  and(
    sql`${files.processingStatus} IN ('pending', 'processing')`,
    sql`${files.processingStatus} = 'pending'`,
    lte(files.uploadExpiresAt, now),
    isNull(files.deletedAt),
  );
/** Uploads stuck mid-PUT since before `stalledBefore`. */
const stalledSince = (stalledBefore: number): SQL | undefined =>
  and(PROCESSING, lte(files.uploadStartedAt, stalledBefore), isNull(files.deletedAt));
/** Soft-deleted past their retention, object maybe still stored. */
const purgeable = (deletedBefore: number): SQL | undefined =>
  and(isNotNull(files.deletedAt), isNull(files.purgedAt), lte(files.deletedAt, deletedBefore));

/**
 * The file queries of the background work: start-up recovery, upload expiry, purge and the
 * sweeps that delete leftover objects, plus their backlog measurements (jobs/backlog.ts).
 * Request handling lives in files.repo.ts.
 */
export function createFileSweepsRepo(db: Db) {
  const countAndOldest = (column: AnyColumn, where: SQL | undefined) =>
    db
      .select({ n: sql<number>`count(*)`, oldest: sql<number | null>`min(${column})` })
      .from(files)
      .where(where)
      .get() ?? { n: 0, oldest: null };
  return {
    /**
     * Reopens `processing` rows of two-step uploads (their PUT may be retried). Rows with no size
     * yet are multipart uploads that cannot resume: they are returned for the caller to fail.
     */
    resetProcessing(now: number): { reopened: number; unresumable: FileRow[] } {
      const reopened = db
        .update(files)
        .set({ processingStatus: "pending", uploadStartedAt: null, updatedAt: now })
        .where(and(PROCESSING, gt(files.sizeBytes, 0)))
        .returning({ one: sql`1` })
        .all().length;
      const unresumable = db
        .select()
        .from(files)
        .where(and(PROCESSING, eq(files.sizeBytes, 0), isNull(files.deletedAt)))
        .all();
      return { reopened, unresumable };
    },
    /** Storage keys of every not-yet-purged file of a tenant (for a forced tenant delete). */
    unpurgedKeys(tenantId: string): string[] {
      return db
        .select({ k: files.storageKey })
        .from(files)
        .where(and(eq(files.tenantId, tenantId), isNull(files.purgedAt)))
        .all()
        .map((r) => r.k);
    },
    /** One tenant's uploads still waiting for their PUT past their expiry (they hold quota for nothing). */
    duePendingUploads(tenantId: string, now: number, limit: number): FileRow[] {
      return db
        .select()
        .from(files)
        .where(and(eq(files.tenantId, tenantId), pendingDue(now)))
        .limit(limit)
        .all();
    },
    /** Uploads whose PUT never came (pending past expiry) or stalled mid-PUT past the grace period. */
    expiredUploads(now: number, stalledBefore: number, limit: number): FileRow[] {
      const pending = db.select().from(files).where(pendingDue(now)).limit(limit).all();
      const stalled = db.select().from(files).where(stalledSince(stalledBefore)).limit(limit).all();
      return [...pending, ...stalled].slice(0, limit);
    },
    /**
     * How much expiry work is due now, for backlog reports: the count of uploads `expiredUploads`
     * would return without a limit, the earliest `expiresAt` among pending ones and the earliest
     * PUT start among stalled ones (same partial indexes, so it costs one index range per kind).
     */
    expiryBacklog(
      now: number,
      stalledBefore: number,
    ): { count: number; oldestExpiresAt: number | null; oldestStalledStart: number | null } {
      const pending = countAndOldest(files.uploadExpiresAt, pendingDue(now));
      const stalled = countAndOldest(files.uploadStartedAt, stalledSince(stalledBefore));
      return { count: pending.n + stalled.n, oldestExpiresAt: pending.oldest, oldestStalledStart: stalled.oldest };
    },
    /** How many files `purgeDue` would return without a limit, and the earliest deletion among them. */
    purgeBacklog(deletedBefore: number): { count: number; oldestDeletedAt: number | null } {
      const r = countAndOldest(files.deletedAt, purgeable(deletedBefore));
      return { count: r.n, oldestDeletedAt: r.oldest };
    },
    /** Soft-deleted files whose retention has passed and whose object may still exist. */
    purgeDue(deletedBefore: number, limit: number): FileRow[] {
      return db.select().from(files).where(purgeable(deletedBefore)).limit(limit).all();
    },
    /** Failed uploads whose object (partial or rejected) may still exist; partial index files_failed_unpurged. */
    failedUnpurged(limit: number): FileRow[] {
      return db
        .select()
        .from(files)
        .where(and(sql`${files.processingStatus} = 'failed'`, isNull(files.purgedAt)))
        .limit(limit)
        .all();
    },
    markPurged(ids: string[], now: number): void {
      if (ids.length) db.update(files).set({ purgedAt: now }).where(inArray(files.id, ids)).run();
    },
  };
}
