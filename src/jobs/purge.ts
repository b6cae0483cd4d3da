import type { Repos } from "../db/repos";
import type { Clock } from "../domain/shared/clock";
import type { Logger } from "../logger";
import type { StorageBackend } from "../storage/backend";

export interface PurgeDeps {
  repos: Repos;
  backend: StorageBackend;
  clock: Clock;
  logger: Logger;
  retentionSeconds: number;
}

/**
 * Removes the objects of files soft-deleted longer than the retention, then marks their rows
 * purged. The order makes it crash-safe: the row is marked only after its object is gone, so a
 * crash in between just repeats an idempotent delete on the next run; an object is never left
 * without a row that points at it.
 */
export async function purgeDeleted(deps: PurgeDeps, batch = 200): Promise<number> {
  const { repos, clock } = deps;
  let purged = 0;
  for (;;) {
    const due = repos.files.purgeDue(clock.now() - deps.retentionSeconds * 1000, batch);
    if (due.length === 0) break;
    const done: string[] = [];
    for (const f of due) {
      try {
        await deps.backend.delete(f.storageKey);
        done.push(f.id);
      } catch (err) {
        deps.logger.warn("purge: object delete failed; will retry", { fileId: f.id, err: String(err) });
      }
    }
    repos.files.markPurged(done, clock.now());
    purged += done.length;
    if (done.length < due.length || due.length < batch) break;
  }
  if (purged) deps.logger.info("files purged", { count: purged });
  return purged;
}
