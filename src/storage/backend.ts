/**
 * The blob store contract every backend (local disk, S3) passes, checked by one contract suite.
 * Backends store opaque bytes (already encrypted by `EncryptedObjects`); keys are built from
 * ids only and validated by `assertSafeKey`.
 */
export interface ByteRange {
  /** Inclusive first byte. */
  start: number;
  /** Inclusive last byte. */
  end: number;
}

/** One stored part of an object being assembled; `etag` is what completion needs (S3), "" elsewhere. */
export interface StoredPart {
  number: number;
  etag: string;
}

/**
 * Objects assembled from numbered parts across requests and restarts (resumable uploads). Parts
 * may be rewritten (a resumed upload re-sends what was not yet recorded as durable); nothing is
 * visible at `key` until `completeParts`, and `abortParts` leaves nothing behind. Every part but
 * the last must hold at least `minPartSize` bytes (S3's 5 MiB rule), and at most `maxParts` exist.
 */
export interface PartStore {
  readonly minPartSize: number;
  readonly maxParts: number;
  /** Starts an assembly for `key`; the returned id is kept by the caller (in the database). */
  beginParts(key: string): Promise<string>;
  /**
   * Writes part `number` (1-based), which begins at byte `position` of the final object (the
   * local backend writes in place). Resolves once stored; see `syncParts` for durability.
   */
  putPart(
    key: string,
    uploadId: string,
    part: { number: number; position: number; chunks: Uint8Array[] },
  ): Promise<StoredPart>;
  /** Makes every part put so far survive a crash (fsync on disk; S3 parts already are). */
  syncParts(key: string, uploadId: string): Promise<void>;
  /** Publishes parts 1..n (in order, `size` bytes in all) atomically at `key`. */
  completeParts(key: string, uploadId: string, parts: StoredPart[], size: number): Promise<void>;
  /** Drops an unfinished assembly; a missing one is not an error. */
  abortParts(key: string, uploadId: string): Promise<void>;
}

export interface StorageBackend extends PartStore {
  readonly name: string;
  /**
   * Stores the stream under `key`, replacing any existing object atomically: readers see the
   * old object or the new one, never a partial write. If the stream errors or `signal` aborts,
   * nothing is left behind and the promise rejects.
   */
  put(key: string, body: ReadableStream<Uint8Array>, opts?: { signal?: AbortSignal }): Promise<{ size: number }>;
  /**
   * Streams the object (or a byte range of it); null when the key does not exist. `chunkSize` is
   * a hint: a backend that can choose its read size yields chunks of that size (the encryption
   * layer asks for whole segments, so it can decrypt them without copying).
   */
  get(
    key: string,
    opts?: { range?: ByteRange; signal?: AbortSignal; chunkSize?: number },
  ): Promise<ReadableStream<Uint8Array> | null>;
  /** Size in bytes of the stored object; null when the key does not exist. */
  stat(key: string): Promise<{ size: number } | null>;
  /** Removes the object; deleting a missing key is not an error (idempotent). */
  delete(key: string): Promise<void>;
  /** Lists keys under a prefix (for orphan sweeps and the contract suite). */
  list(prefix: string): AsyncIterable<string>;
  /** Cheap liveness probe for /ready and doctor. */
  ping(): Promise<void>;
}

const SAFE_KEY = /^[A-Za-z0-9_-]+(\/[A-Za-z0-9_-]+)*$/;

/** Keys are id paths like `t/<tenantId>/<fileId>`; anything else is a programming error. */
export function assertSafeKey(key: string): void {
  if (key.length > 512 || !SAFE_KEY.test(key)) throw new Error(`unsafe storage key: ${JSON.stringify(key)}`);
}

export function objectKeyFor(tenantId: string, fileId: string): string {
  return `${tenantObjectPrefix(tenantId)}${fileId.slice(0, 2)}/${fileId}`;
}

/** Every object of a tenant lives under this prefix. */
export function tenantObjectPrefix(tenantId: string): string {
  return `t/${tenantId}/`;
}
