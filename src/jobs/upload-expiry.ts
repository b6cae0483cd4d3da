import type { Repos } from "../db/repos";
import type { FileRow } from "../db/schema";
import type { Clock } from "../domain/shared/clock";
import type { Logger } from "../logger";
import type { StorageBackend } from "../storage/backend";

export interface UploadExpiryDeps {
  repos: Repos;
  backend: StorageBackend;
  clock: Clock;
  logger: Logger;
  /** A PUT still streaming after this long is considered dead (crashed client or server). */
  stallGraceMs: number;
  /** Called inside the transaction that fails the upload (webhook outbox). */
  onSettled?: (file: FileRow) => void;
}

/**
 * Expires uploads whose PUT never came (pending past `expiresAt`) or stalled mid-PUT: status
 * `failed` with reason `expired`, reservation released (one transaction), partial object removed.
 * Idempotent: a crash after the transaction leaves at most a leftover object delete, redone by
 * the purge-style delete below on the next run (deleting a missing key is a no-op).
 */
export async function expireUploads(deps: UploadExpiryDeps, batch = 500): Promise<number> {
  const { repos, clock } = deps;
  const now = clock.now();
  const due = repos.files.expiredUploads(now, now - deps.stallGraceMs, batch);
  let expired = 0;
  for (const f of due) {
    const done = repos.tx(() => {
      if (!repos.files.expire(f.id, f.processingStatus, f.reservedBytes, clock.now())) return false;
      repos.quota.adjust(f, -f.reservedBytes, 0);
      deps.onSettled?.(repos.files.byId(f.id)!);
      return true;
    });
    if (!done) continue;
    expired++;
    await deps.backend
      .delete(f.storageKey)
      .catch((err) => deps.logger.warn("expired upload: object delete failed", { fileId: f.id, err: String(err) }));
  }
  if (expired) deps.logger.info("uploads expired", { count: expired });
  return expired;
}

/**
 * At start-up no upload can be in flight. Two-step uploads left `processing` by a crash go back
 * to `pending` (the client may retry the PUT until it expires); multipart uploads cannot resume,
 * so they fail and release their reservation. Partial data never reached a real key (backends
 * write to a temp location or a multipart upload first).
 */
export function recoverInterruptedUploads(repos: Repos, clock: Clock, onSettled?: (file: FileRow) => void): number {
  const { reopened, unresumable } = repos.files.resetProcessing(clock.now());
  for (const f of unresumable) {
    repos.tx(() => {
      if (!repos.files.expire(f.id, "processing", f.reservedBytes, clock.now(), "interrupted")) return;
      repos.quota.adjust(f, -f.reservedBytes, 0);
      onSettled?.(repos.files.byId(f.id)!);
    });
  }
  return reopened + unresumable.length;
}
