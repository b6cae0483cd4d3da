/**
 * Locks on resumable (tus) uploads shared by every instance of a deployment, on top of the
 * in-process ordering in tus.service.ts (which alone suffices for one process: SQLite). On
 * PostgreSQL (db/pg/upload-locks.ts) they are session advisory locks, so a PATCH and a HEAD of
 * one upload arriving at two instances can't both run: the second asks the first to stop (as a
 * newer request does within one process) and waits for it to record its offset.
 */
export interface UploadLocks {
  /**
   * Takes the lock of `fileId`. When another instance holds it: if `takeOver`, asks that instance
   * to abort its request for the upload and waits up to `waitMs` for the lock; else gives up at
   * once. Returns the release function, or null if the lock was not had (or `signal` aborted).
   */
  acquire(
    fileId: string,
    opts: { takeOver: boolean; waitMs: number; signal: AbortSignal },
  ): Promise<(() => Promise<void>) | null>;
  /** Called with the id of an upload another instance asks this one to stop serving. */
  onAbortRequest(handler: (fileId: string) => void): void;
  close(): Promise<void>;
}

/** One process: the in-process ordering is the whole story. */
export const localUploadLocks: UploadLocks = {
  acquire: async () => async () => {},
  onAbortRequest: () => {},
  close: async () => {},
};
