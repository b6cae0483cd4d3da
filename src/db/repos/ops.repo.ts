import type { Db } from "../client";

/**
 * Read-only queries for metrics and `doctor`: each runs on an index (or the tenants table, one
 * row per tenant), so a scrape stays cheap at millions of files.
 */
export function createOpsRepo(db: Db) {
  const sqlite = db.$client;
  const usageQ = sqlite.query<{ id: string; used: number; reserved: number }, []>(
    "SELECT id, used_bytes AS used, reserved_bytes AS reserved FROM tenants",
  );
  const webhookQueueQ = sqlite.query<{ n: number; oldest: number | null }, [number]>(
    "SELECT count(*) AS n, min(next_attempt_at) AS oldest FROM webhook_deliveries WHERE status = 'pending' AND next_attempt_at <= ?",
  );
  const pendingWebhooksQ = sqlite.query<{ n: number }, []>(
    "SELECT count(*) AS n FROM webhook_deliveries WHERE status = 'pending'",
  );
  const rewrapPageQ = sqlite.query<{ id: string; wrapped: string; keyId: string }, [string, string, number]>(
    "SELECT id, wrapped_key AS wrapped, key_id AS keyId FROM files WHERE id > ? AND wrapped_key IS NOT NULL AND key_id IS NOT ? ORDER BY id LIMIT ?",
  );
  const rewrapCountQ = sqlite.query<{ n: number }, [string]>(
    "SELECT count(*) AS n FROM files WHERE wrapped_key IS NOT NULL AND key_id IS NOT ?",
  );
  const setWrappedQ = sqlite.query<unknown, [string, string, string, string]>(
    "UPDATE files SET wrapped_key = ?, key_id = ? WHERE id = ? AND key_id = ?",
  );
  const tusRewrapQ = sqlite.query<{ id: string; wrapped: string; keyId: string }, [string, string, number]>(
    "SELECT file_id AS id, wrapped_key AS wrapped, key_id AS keyId FROM tus_uploads WHERE file_id > ? AND key_id IS NOT ? ORDER BY file_id LIMIT ?",
  );
  const setTusWrappedQ = sqlite.query<unknown, [string, string, string, string]>(
    "UPDATE tus_uploads SET wrapped_key = ?, key_id = ? WHERE file_id = ? AND key_id = ?",
  );
  const ownerQ = sqlite.query<{ key: string; purgedAt: number | null }, [string]>(
    "SELECT storage_key AS key, purged_at AS purgedAt FROM files WHERE id = ?",
  );
  const tusExistsQ = sqlite.query<{ one: number }, [string]>("SELECT 1 AS one FROM tus_uploads WHERE file_id = ?");
  const completedPageQ = sqlite.query<
    { id: string; key: string; tenantId: string; workspaceId: string | null; charged: number },
    [string, number]
  >(
    "SELECT id, storage_key AS key, tenant_id AS tenantId, workspace_id AS workspaceId, charged_bytes AS charged FROM files WHERE id > ? AND processing_status = 'completed' AND deleted_at IS NULL AND purged_at IS NULL ORDER BY id LIMIT ?",
  );
  const markMissingQ = sqlite.query<unknown, [number, string, number]>(
    `UPDATE files SET processing_status = 'failed', charged_bytes = 0, updated_at = ?1,
       metadata = json_set(CASE WHEN json_valid(metadata) AND json_type(metadata) = 'object' THEN metadata ELSE '{}' END, '$.failureReason', 'object_missing')
     WHERE id = ?2 AND processing_status = 'completed' AND charged_bytes = ?3`,
  );
  const inFlightQ = sqlite.query<{ n: number }, [number]>(
    "SELECT count(*) AS n FROM files WHERE processing_status = 'processing' AND upload_started_at <= ?",
  );
  return {
    /** Master key rotation: files whose data key is wrapped by a key other than `keyId`, by id. */
    filesToRewrap(keyId: string, afterId: string, limit: number) {
      return rewrapPageQ.all(afterId, keyId, limit);
    },
    countToRewrap(keyId: string): number {
      return rewrapCountQ.get(keyId)?.n ?? 0;
    },
    /**
     * Stores re-wrapped data keys in one transaction. Each update applies only if the row still
     * has the key id it was read with (a concurrent writer wins); returns how many applied.
     */
    setWrappedKeys(rows: { id: string; fromKeyId: string; wrapped: string; keyId: string }[]): number {
      let n = 0;
      sqlite.transaction(() => {
        for (const r of rows) n += setWrappedQ.run(r.wrapped, r.keyId, r.id, r.fromKeyId).changes;
      })();
      return n;
    },
    /** Unfinished resumable (tus) uploads whose data key is wrapped by a key other than `keyId`. */
    tusUploadsToRewrap(keyId: string, afterId: string, limit: number) {
      return tusRewrapQ.all(afterId, keyId, limit);
    },
    setTusWrappedKeys(rows: { id: string; fromKeyId: string; wrapped: string; keyId: string }[]): number {
      let n = 0;
      sqlite.transaction(() => {
        for (const r of rows) n += setTusWrappedQ.run(r.wrapped, r.keyId, r.id, r.fromKeyId).changes;
      })();
      return n;
    },
    /**
     * Whether a stored object belongs to a live row: keys are `t/<tenant>/<xx>/<fileId>` (the
     * file's row, unless purged) or `t/<tenant>/tus/<fileId>...` (an unfinished tus upload).
     */
    objectIsOwned(key: string): boolean {
      const tus = /^t\/[^/]+\/tus\/([^/]+)/.exec(key);
      if (tus) return tusExistsQ.get(tus[1] as string) !== null;
      const owner = ownerQ.get(key.slice(key.lastIndexOf("/") + 1));
      return owner !== null && owner.key === key && owner.purgedAt === null;
    },
    /** Live completed files by id, for the missing-object check. */
    completedFiles(afterId: string, limit: number) {
      return completedPageQ.all(afterId, limit);
    },
    /**
     * A completed file whose object is gone: marked failed (reason object_missing) with its
     * charged bytes released; call inside a transaction with the quota adjustment. False if the
     * row changed meanwhile.
     */
    markObjectMissing(id: string, charged: number, now: number): boolean {
      return markMissingQ.run(now, id, charged).changes === 1;
    },
    /** Uploads mid-PUT that started at or before `t` (their data key may be wrapped by an older key). */
    uploadsInFlightSince(t: number): number {
      return inFlightQ.get(t)?.n ?? 0;
    },
    tenantUsage() {
      return usageQ.all();
    },
    /** Deliveries waiting (due or backing off) and the due time of the oldest one already due. */
    webhookQueue(now: number) {
      const due = webhookQueueQ.get(now);
      return { pending: pendingWebhooksQ.get()?.n ?? 0, due: due?.n ?? 0, oldestDueAt: due?.oldest ?? null };
    },
  };
}
export type OpsRepo = ReturnType<typeof createOpsRepo>;
