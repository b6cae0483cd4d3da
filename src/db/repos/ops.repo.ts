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
  const oldestExpiryQ = sqlite.query<{ oldest: number | null }, []>(
    "SELECT min(upload_expires_at) AS oldest FROM files WHERE processing_status IN ('pending', 'processing')",
  );
  const oldestDeletedQ = sqlite.query<{ oldest: number | null }, []>(
    "SELECT min(deleted_at) AS oldest FROM files WHERE deleted_at IS NOT NULL AND purged_at IS NULL",
  );
  return {
    tenantUsage() {
      return usageQ.all();
    },
    /** Deliveries waiting (due or backing off) and the due time of the oldest one already due. */
    webhookQueue(now: number) {
      const due = webhookQueueQ.get(now);
      return { pending: pendingWebhooksQ.get()?.n ?? 0, due: due?.n ?? 0, oldestDueAt: due?.oldest ?? null };
    },
    /** Earliest expiry among uploads still open (pending or mid-PUT). */
    oldestUploadExpiry(): number | null {
      return oldestExpiryQ.get()?.oldest ?? null;
    },
    /** Deletion time of the oldest soft-deleted file whose object is not purged yet. */
    oldestUnpurgedDeletion(): number | null {
      return oldestDeletedQ.get()?.oldest ?? null;
    },
  };
}
export type OpsRepo = ReturnType<typeof createOpsRepo>;
