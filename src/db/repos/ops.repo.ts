import { and, asc, eq, gt, isNotNull, isNull, lte, notInArray, sql } from "drizzle-orm";
import type { Connection } from "../connection";
import { dialectSql } from "../dialect-sql";

/**
 * Read-only queries for metrics and `doctor`: each runs on an index (or the tenants table, one
 * row per tenant), so a scrape stays cheap at millions of files.
 */
export function createOpsRepo(conn: Connection) {
  const { files, tusUploads, tenants, webhookDeliveries } = conn.tables;
  const { distinctFrom, jsonWithKey } = dialectSql(conn.dialect);
  const db = () => conn.exec();
  const count = sql<number>`count(*)`.mapWith(Number);
  const one = { one: sql`1` };
  return {
    /** Master key rotation: files whose data key is wrapped by a key other than `keyId`, by id. */
    async filesToRewrap(keyId: string, afterId: string, limit: number) {
      const rows = await db()
        .select({ id: files.id, wrapped: files.wrappedKey, keyId: files.keyId })
        .from(files)
        .where(and(gt(files.id, afterId), isNotNull(files.wrappedKey), distinctFrom(files.keyId, keyId)))
        .orderBy(asc(files.id))
        .limit(limit);
      return rows as { id: string; wrapped: string; keyId: string }[];
    },
    async countToRewrap(keyId: string): Promise<number> {
      const [r] = await db()
        .select({ n: count })
        .from(files)
        .where(and(isNotNull(files.wrappedKey), distinctFrom(files.keyId, keyId)));
      return r?.n ?? 0;
    },
    /**
     * Stores re-wrapped data keys; call inside a transaction. Each update applies only if the row
     * still has the key id it was read with (a concurrent writer wins); returns how many applied.
     */
    async setWrappedKeys(rows: { id: string; fromKeyId: string; wrapped: string; keyId: string }[]): Promise<number> {
      let n = 0;
      for (const r of rows)
        n += (
          await db()
            .update(files)
            .set({ wrappedKey: r.wrapped, keyId: r.keyId })
            .where(and(eq(files.id, r.id), eq(files.keyId, r.fromKeyId)))
            .returning(one)
        ).length;
      return n;
    },
    /**
     * A master key id that a live row (a file not purged, or an unfinished tus upload) was wrapped
     * by and that is not in `known`, or null. Start-up check (domain/ops/deployment-secrets.ts):
     * a scan that stops at the first hit; no index on key_id, measured in docs/operations.md.
     */
    async unknownKeyId(known: string[]): Promise<string | null> {
      const [f] = await db()
        .select({ keyId: files.keyId })
        .from(files)
        .where(and(isNotNull(files.wrappedKey), isNull(files.purgedAt), notInArray(files.keyId, known)))
        .limit(1);
      if (f?.keyId) return f.keyId;
      const [t] = await db()
        .select({ keyId: tusUploads.keyId })
        .from(tusUploads)
        .where(notInArray(tusUploads.keyId, known))
        .limit(1);
      return t?.keyId ?? null;
    },
    /** Unfinished resumable (tus) uploads whose data key is wrapped by a key other than `keyId`. */
    async tusUploadsToRewrap(keyId: string, afterId: string, limit: number) {
      return db()
        .select({ id: tusUploads.fileId, wrapped: tusUploads.wrappedKey, keyId: tusUploads.keyId })
        .from(tusUploads)
        .where(and(gt(tusUploads.fileId, afterId), distinctFrom(tusUploads.keyId, keyId)))
        .orderBy(asc(tusUploads.fileId))
        .limit(limit);
    },
    /** Like setWrappedKeys, for tus uploads; call inside a transaction. */
    async setTusWrappedKeys(
      rows: { id: string; fromKeyId: string; wrapped: string; keyId: string }[],
    ): Promise<number> {
      let n = 0;
      for (const r of rows)
        n += (
          await db()
            .update(tusUploads)
            .set({ wrappedKey: r.wrapped, keyId: r.keyId })
            .where(and(eq(tusUploads.fileId, r.id), eq(tusUploads.keyId, r.fromKeyId)))
            .returning(one)
        ).length;
      return n;
    },
    /**
     * Whether a stored object belongs to a live row: keys are `t/<tenant>/<xx>/<fileId>` (the
     * file's row, unless purged) or `t/<tenant>/tus/<fileId>...` (an unfinished tus upload).
     */
    async objectIsOwned(key: string): Promise<boolean> {
      const tus = /^t\/[^/]+\/tus\/([^/]+)/.exec(key);
      if (tus)
        return (
          (
            await db()
              .select(one)
              .from(tusUploads)
              .where(eq(tusUploads.fileId, tus[1] as string))
              .limit(1)
          ).length > 0
        );
      const [owner] = await db()
        .select({ key: files.storageKey, purgedAt: files.purgedAt })
        .from(files)
        .where(eq(files.id, key.slice(key.lastIndexOf("/") + 1)))
        .limit(1);
      return owner !== undefined && owner.key === key && owner.purgedAt === null;
    },
    /** Live completed files by id, for the missing-object check. */
    async completedFiles(afterId: string, limit: number) {
      return db()
        .select({
          id: files.id,
          key: files.storageKey,
          tenantId: files.tenantId,
          workspaceId: files.workspaceId,
          charged: files.chargedBytes,
        })
        .from(files)
        .where(
          and(
            gt(files.id, afterId),
            eq(files.processingStatus, "completed"),
            isNull(files.deletedAt),
            isNull(files.purgedAt),
          ),
        )
        .orderBy(asc(files.id))
        .limit(limit);
    },
    /**
     * A completed file whose object is gone: marked failed (reason object_missing) with its
     * charged bytes released; call inside a transaction with the quota adjustment. False if the
     * row changed meanwhile.
     */
    async markObjectMissing(id: string, charged: number, now: number): Promise<boolean> {
      const rows = await db()
        .update(files)
        .set({
          processingStatus: "failed",
          chargedBytes: 0,
          updatedAt: now,
          metadata: jsonWithKey(files.metadata, "failureReason", "object_missing") as never,
        })
        .where(and(eq(files.id, id), eq(files.processingStatus, "completed"), eq(files.chargedBytes, charged)))
        .returning(one);
      return rows.length === 1;
    },
    /** Uploads mid-PUT that started at or before `t` (their data key may be wrapped by an older key). */
    async uploadsInFlightSince(t: number): Promise<number> {
      const [r] = await db()
        .select({ n: count })
        .from(files)
        .where(and(eq(files.processingStatus, "processing"), lte(files.uploadStartedAt, t)));
      return r?.n ?? 0;
    },
    async tenantUsage() {
      return db().select({ id: tenants.id, used: tenants.usedBytes, reserved: tenants.reservedBytes }).from(tenants);
    },
    /** Deliveries waiting (due or backing off) and the due time of the oldest one already due. */
    async webhookQueue(now: number) {
      const pending = eq(webhookDeliveries.status, "pending");
      const [due] = await db()
        .select({ n: count, oldest: sql<number | null>`min(${webhookDeliveries.nextAttemptAt})`.mapWith(Number) })
        .from(webhookDeliveries)
        .where(and(pending, lte(webhookDeliveries.nextAttemptAt, now)));
      const [all] = await db().select({ n: count }).from(webhookDeliveries).where(pending);
      return { pending: all?.n ?? 0, due: due?.n ?? 0, oldestDueAt: due?.oldest ?? null };
    },
  };
}
export type OpsRepo = ReturnType<typeof createOpsRepo>;
