import type { Repos } from "../db/repos";
import type { Clock } from "../domain/shared/clock";
import type { Logger } from "../logger";
import type { StorageBackend } from "../storage/backend";
import { logBacklog, purgeBacklog, yieldToEventLoop } from "./backlog";
import { deleteObjects, settleClaims } from "./delete-objects";

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
 * without a row that points at it. Drains like the expiry job: batches until nothing due is left,
 * yielding between batches, the backlog logged when more than one batch is due. A batch with a
 * failed delete ends the run (the backend is likely down; the next run retries). Several
 * instances may run it at once: each batch is claimed (file-sweeps.repo.ts), so an object is
 * deleted and its row marked by one of them.
 */
export async function purgeDeleted(deps: PurgeDeps, batch = 200): Promise<number> {
  const { repos, clock } = deps;
  let purged = 0;
  let batches = 0;
  const started = performance.now();
  for (;;) {
    const now = clock.now();
    const due = await repos.fileSweeps.claimPurgeDue(now - deps.retentionSeconds * 1000, now, batch);
    if (due.length === 0) break;
    if (batches === 0 && due.length === batch)
      logBacklog(deps.logger, "purge", await purgeBacklog(repos, now, deps.retentionSeconds));
    batches++;
    const done = await deleteObjects(deps, due, "purge");
    purged += await settleClaims(repos, due, done, clock.now());
    if (done.length < due.length || due.length < batch) break;
    await yieldToEventLoop();
  }
  if (purged) deps.logger.info("files purged", { count: purged, batches, ms: Math.round(performance.now() - started) });
  return purged;
}
