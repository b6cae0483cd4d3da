import { AppError } from "../shared/errors";

/**
 * At most `max` uploads streaming at once per tenant (MAX_CONCURRENT_UPLOADS_PER_TENANT; 0 =
 * unlimited), across the presigned PUT, the storage module's multipart upload and tus PATCH. A
 * slot is taken before the body is read and given back when the upload ends, whatever the end
 * (completed, rejected, client gone). In memory: per process.
 */
export class UploadSlots {
  private readonly inFlight = new Map<string, number>();

  constructor(private readonly max: number) {}

  /** Takes a slot or throws 429 RATE_LIMITED; returns the release function (idempotent). */
  acquire(tenantId: string): () => void {
    if (this.max <= 0) return () => {};
    const n = this.inFlight.get(tenantId) ?? 0;
    if (n >= this.max)
      throw new AppError("RATE_LIMITED", `At most ${this.max} uploads may be in progress at once`, {
        scope: "uploads",
        maxConcurrentUploads: this.max,
        retryAfterSeconds: 1,
      });
    this.inFlight.set(tenantId, n + 1);
    let released = false;
    return () => {
      if (released) return;
      released = true;
      const left = (this.inFlight.get(tenantId) ?? 1) - 1;
      if (left > 0) this.inFlight.set(tenantId, left);
      else this.inFlight.delete(tenantId);
    };
  }

  /** Uploads in progress for a tenant (tests, metrics). */
  count(tenantId: string): number {
    return this.inFlight.get(tenantId) ?? 0;
  }

  /** Runs `fn` holding one of the tenant's slots. */
  async run<T>(tenantId: string, fn: () => Promise<T>): Promise<T> {
    const release = this.acquire(tenantId);
    try {
      return await fn();
    } finally {
      release();
    }
  }
}
