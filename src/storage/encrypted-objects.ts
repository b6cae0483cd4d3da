import type { StorageBackend } from "./backend";
import { decryptSegments, encryptedRangeFor, encryptSegments, SEGMENT_SIZE, TAG_SIZE } from "./crypto";
import { GcPacer } from "./gc-pacer";
import { iteratorToStream } from "./streams";

/** What a write records so the object can be read back (stored in the files row). */
export interface StoredObjectInfo {
  wrappedKey: string;
  keyId: string;
  segmentSize: number;
  sha256: string;
  /** Plaintext bytes stored. */
  size: number;
  /** The first bytes of the plaintext, for magic-byte type checks. */
  head: Uint8Array;
}

export interface ObjectRef {
  key: string;
  wrappedKey: string;
  keyId: string;
  segmentSize: number;
  plainSize: number;
}

const HEAD_BYTES = 4100;
/**
 * Uploads: measured on 100 MiB (bench/): no pacing → peak RSS 165-176 MiB at 335-344 MB/s; every
 * 16 MiB → 123-127 MiB at 238-266 MB/s; every 32 MiB → ~135 MiB at ~275 MB/s. 32 MiB keeps the
 * peak under the 150 MiB target at the smallest cost.
 */
const uploadGc = new GcPacer(32 * 1024 * 1024);
/**
 * Downloads: unpaced, the server's peak RSS kept climbing with repeated 100 MiB downloads (150 MiB
 * after one, 204 after eight) at ~900 MB/s; pacing every 16 MiB cost ~40% of throughput, every
 * 64 MiB ~20% (~730 MB/s) and keeps a 100 MiB upload+download within ~65 MiB of idle. Memory on a
 * small box matters more than the last 20% of a transfer that is far above network speed.
 */
const downloadGc = new GcPacer(64 * 1024 * 1024);

/**
 * Streams plaintext through envelope encryption into a backend and back. Plaintext exists only
 * in memory, one segment at a time; backends only ever see ciphertext.
 */
/** What wraps and unwraps per-object data keys: a MasterKey, or the MasterKeyring of a rotation. */
export interface DataKeyWrapper {
  newDataKey(): Promise<{ key: CryptoKey; wrapped: string; keyId: string }>;
  unwrap(wrapped: string, keyId: string): Promise<CryptoKey>;
}

/** Byte counts for metrics: plaintext stored by writes and plaintext sent by reads. */
export interface ObjectsObserver {
  bytesWritten(n: number): void;
  bytesRead(n: number): void;
}

export class EncryptedObjects {
  constructor(
    readonly backend: StorageBackend,
    private readonly masterKey: DataKeyWrapper,
    private readonly observer?: ObjectsObserver,
  ) {}

  /** `plainSize` when the length is declared (exact match enforced); else `maxSize` bounds it. */
  async write(opts: {
    key: string;
    body: ReadableStream<Uint8Array>;
    plainSize?: number;
    maxSize?: number;
    signal?: AbortSignal;
  }): Promise<StoredObjectInfo> {
    const { key: dataKey, wrapped, keyId } = await this.masterKey.newDataKey();
    const hasher = new Bun.CryptoHasher("sha256");
    let head: Uint8Array | null = null;
    let size = 0;
    const encrypted = encryptSegments({
      input: opts.body,
      key: dataKey,
      plainSize: opts.plainSize,
      maxSize: opts.maxSize,
      onPlain: (seg) => {
        size += seg.byteLength;
        uploadGc.add(seg.byteLength);
        hasher.update(seg);
        head ??= seg.slice(0, HEAD_BYTES);
      },
    });
    await this.backend.put(opts.key, iteratorToStream(encrypted), { signal: opts.signal });
    this.observer?.bytesWritten(size);
    return {
      wrappedKey: wrapped,
      keyId,
      segmentSize: SEGMENT_SIZE,
      sha256: hasher.digest("hex"),
      size,
      head: head ?? new Uint8Array(0),
    };
  }

  /**
   * Plaintext bytes [start, end] (inclusive; default the whole object). The first segment is
   * decrypted before this resolves, so a missing or tampered object fails here, before any
   * response headers are sent; later tampering errors the stream instead of yielding garbage.
   */
  async read(
    ref: ObjectRef,
    opts: { start?: number; end?: number; signal?: AbortSignal } = {},
  ): Promise<ReadableStream<Uint8Array> | null> {
    const start = opts.start ?? 0;
    const end = opts.end ?? ref.plainSize - 1;
    const dataKey = await this.masterKey.unwrap(ref.wrappedKey, ref.keyId);
    const r = encryptedRangeFor(ref.plainSize, start, end, ref.segmentSize);
    const stored = await this.backend.get(ref.key, {
      range: { start: r.encStart, end: r.encEnd },
      signal: opts.signal,
      chunkSize: ref.segmentSize + TAG_SIZE,
    });
    if (!stored) return null;
    const plain = decryptSegments({
      input: stored,
      key: dataKey,
      plainSize: ref.plainSize,
      start,
      end,
      segmentSize: ref.segmentSize,
    });
    const first = await plain.next().catch(async (err) => {
      await stored.cancel().catch(() => {});
      throw err;
    });
    const observer = this.observer;
    async function* rest() {
      try {
        if (!first.done) {
          observer?.bytesRead(first.value.byteLength);
          yield first.value;
        }
        for await (const chunk of plain) {
          downloadGc.add(chunk.byteLength);
          observer?.bytesRead(chunk.byteLength);
          yield chunk;
        }
      } finally {
        // A consumer that stops early (client disconnect) must end the decryptor too, which
        // cancels the backend stream and frees its socket: S3 pools are small.
        await plain.return(undefined);
      }
    }
    return iteratorToStream(rest());
  }
}
