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

export interface StorageBackend {
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
