import type { Repos } from "../db/repos";
import type { Logger } from "../logger";
import type { StorageBackend } from "../storage/backend";

/**
 * Deletes the object of each file and returns the ids whose object is gone, for the caller to
 * mark purged. A delete that fails is logged and left out, so the row stays due and the next run
 * retries it (deleting a missing key is a no-op, so repeating is safe).
 */
export async function deleteObjects(
  deps: { backend: StorageBackend; logger: Logger },
  files: readonly { id: string; storageKey: string }[],
  job: string,
): Promise<string[]> {
  const done: string[] = [];
  for (const f of files) {
    try {
      await deps.backend.delete(f.storageKey);
      done.push(f.id);
    } catch (err) {
      deps.logger.warn(`${job}: object delete failed; will retry`, { fileId: f.id, err: String(err) });
    }
  }
  return done;
}

/**
 * Ends a claimed batch: rows whose object is gone are marked purged, the others released so the
 * next run retries them. Returns how many this call marked.
 */
export async function settleClaims(
  repos: Repos,
  claimed: readonly { id: string }[],
  done: string[],
  now: number,
): Promise<number> {
  const marked = await repos.fileSweeps.markPurged(done, now);
  const gone = new Set(done);
  await repos.fileSweeps.releaseSweep(claimed.filter((f) => !gone.has(f.id)).map((f) => f.id));
  return marked;
}
