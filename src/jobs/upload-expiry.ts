import type { Repos } from "../db/repos";
import type { FileRow, ProcessingStatus } from "../db/schema";
import type { Clock } from "../domain/shared/clock";
import { present } from "../domain/shared/errors";
import type { Logger } from "../logger";
import type { StorageBackend } from "../storage/backend";
import { expiryBacklog, logBacklog, yieldToEventLoop } from "./backlog";
import { deleteObjects, settleClaims } from "./delete-objects";

export interface UploadExpiryDeps {
  repos: Repos;
  backend: StorageBackend;
  clock: Clock;
  logger: Logger;
  /** A PUT still streaming after this long is considered dead (crashed client or server). */
  stallGraceMs: number;
  /** Called inside the transaction that fails the upload (webhook outbox). */
  onSettled?: (file: FileRow) => Promise<void>;
  /**
   * Also sweep the objects of failed uploads at the end of the run (default true). The server's
   * scheduler says false and runs the sweep as a task of its own: on S3 every delete is a request,
   * and a sweep of thousands of abandoned uploads held the next expiry run back by minutes (the
   * 8-minute soak saw reservations held 245 s past their expiry).
   */
  sweepObjects?: boolean;
}

/**
 * Expires uploads whose PUT never came (pending past `expiresAt`) or stalled mid-PUT: status
 * `failed` with reason `expired`, reservation released (one transaction); then removes the
 * objects of failed uploads (see sweepFailedObjects). Drains: batches of `batch` run until nothing
 * due is left, yielding to the event loop between batches, so a run keeps up with any abandon rate
 * its batches can absorb (one batch per run fell behind: 500 per 30 s is ~17/s, and dead uploads
 * kept their quota reserved for minutes). A run that finds more than one batch due logs the
 * backlog (count, oldest overdue age). Idempotent: an object delete that fails or is cut short by
 * a crash is redone on the next run, because the row stays unpurged until its object is gone
 * (deleting a missing key is a no-op).
 */
export async function expireUploads(deps: UploadExpiryDeps, batch = 500): Promise<number> {
  const { repos, clock } = deps;
  let expired = 0;
  let batches = 0;
  const started = performance.now();
  for (;;) {
    const now = clock.now();
    const due = await repos.fileSweeps.expiredUploads(now, now - deps.stallGraceMs, batch);
    if (due.length === 0) break;
    if (batches === 0 && due.length === batch)
      logBacklog(deps.logger, "upload-expiry", await expiryBacklog(repos, now, deps.stallGraceMs));
    batches++;
    let progressed = 0;
    for (const f of due) {
      if (await failAndRelease(repos, clock, f, f.processingStatus, "expired", deps.onSettled)) progressed++;
    }
    expired += progressed;
    // A short batch was the last one; a batch where every row changed under us (claimed by a PUT
    // meanwhile) is left to the next run rather than spun on.
    if (due.length < batch || progressed === 0) break;
    await yieldToEventLoop();
  }
  if (expired) {
    deps.logger.info("uploads expired", { count: expired, batches, ms: Math.round(performance.now() - started) });
  }
  if (deps.sweepObjects !== false) await sweepFailedObjects(deps, batch);
  return expired;
}

/**
 * Deletes what a failed upload may have left in storage (a partial or rejected object) and marks
 * the row purged once the object is gone. Failed is final, so nothing will write that key again.
 * A delete that fails keeps the row unpurged, to be retried on the next run. Runs batches until
 * none is left (every expired upload lands here, so it must keep up with the expiry).
 */
export async function sweepFailedObjects(
  deps: Pick<UploadExpiryDeps, "repos" | "backend" | "clock" | "logger">,
  batch = 500,
): Promise<number> {
  let swept = 0;
  for (;;) {
    const due = await deps.repos.fileSweeps.claimFailedUnpurged(deps.clock.now(), batch);
    const done = await deleteObjects(deps, due, "failed upload");
    swept += await settleClaims(deps.repos, due, done, deps.clock.now());
    // Drains like the expiry above; a failed delete ends the run (the backend is likely down).
    if (due.length < batch || done.length < due.length) return swept;
    await yieldToEventLoop();
  }
}

/**
 * At start-up no upload can be in flight. Two-step uploads left `processing` by a crash go back
 * to `pending` (the client may retry the PUT until it expires); multipart uploads cannot resume,
 * so they fail and release their reservation. Partial data never reached a real key (backends
 * write to a temp location or a multipart upload first).
 */
export async function recoverInterruptedUploads(
  repos: Repos,
  clock: Clock,
  onSettled?: (file: FileRow) => Promise<void>,
): Promise<number> {
  const { reopened, unresumable } = await repos.fileSweeps.resetProcessing(clock.now());
  for (const f of unresumable) await failAndRelease(repos, clock, f, "processing", "interrupted", onSettled);
  return reopened + unresumable.length;
}

/**
 * In one transaction: fails `f` if it is still `from` and holds what the caller saw, releases its
 * reservation and calls `onSettled` (the webhook outbox). False if it changed meanwhile.
 */
function failAndRelease(
  repos: Repos,
  clock: Clock,
  f: FileRow,
  from: ProcessingStatus,
  reason: "expired" | "interrupted",
  onSettled?: (file: FileRow) => Promise<void>,
): Promise<boolean> {
  return repos.tx(async () => {
    if (!(await repos.files.expire(f.id, from, f.reservedBytes, clock.now(), reason))) return false;
    await repos.quota.adjust(f, -f.reservedBytes, 0);
    await onSettled?.(present(await repos.files.byId(f.id), "file"));
    return true;
  });
}
