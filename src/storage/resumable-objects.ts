import type { StorageBackend, StoredPart } from "./backend";
import {
  encryptedSize,
  openBlob,
  SEGMENT_SIZE,
  SizeMismatchError,
  sealBlob,
  sealSegment,
  segmentCount,
  TAG_SIZE,
} from "./crypto";
import type { DataKeyWrapper, EncryptedObjects, StoredObjectInfo } from "./encrypted-objects";
import { GcPacer } from "./gc-pacer";

const STRIDE = SEGMENT_SIZE + TAG_SIZE;
const HEAD_BYTES = 4100;
/**
 * A long PATCH records its progress (parts synced, offset in the database) at least this often,
 * so a kill -9 mid-request loses at most this much, plus what streamed while a checkpoint ran.
 * Each costs one fsync and one database write, taken while the body keeps streaming.
 */
const CHECKPOINT_BYTES = 16 * 1024 * 1024;
const gc = new GcPacer(32 * 1024 * 1024);

/** Where an unfinished upload stands, as recorded durably (the database row of the caller). */
export interface ResumableState {
  /** Key of the final object. */
  key: string;
  /** Prefix of this upload's staging blobs (its unfinished tail). */
  stagingPrefix: string;
  /** The backend's assembly id (S3 multipart upload id, or the local staging file). */
  uploadId: string;
  wrappedKey: string;
  keyId: string;
  /** Total plaintext bytes (tus Upload-Length). */
  length: number;
  /** Plaintext bytes durably received. */
  offset: number;
  segmentsPerPart: number;
  /** Version of the staging blob holding plaintext [part start, offset); 0 = none. */
  tailVersion: number;
}

/**
 * What to record after each durable step (a database write). Mid-body checkpoints run while the
 * body keeps streaming, one at a time and in order; the request ends only after the last one.
 */
export interface Checkpoint {
  offset: number;
  tailVersion: number;
  /** Parts stored since the previous checkpoint (to record with their ETags). */
  parts: StoredPart[];
}

/** The body's checksum (tus checksum extension) did not match: nothing of the request was kept. */
export class ChecksumMismatchError extends Error {
  override name = "ChecksumMismatchError";
}

/**
 * Encrypted objects written across many requests and restarts (tus). The object format is the one
 * `EncryptedObjects` writes — 1 MiB AES-256-GCM segments with (index, final) nonces — so a finished
 * upload reads like any other. Because the total length is known up front, every segment can be
 * sealed as soon as it fills, with the right final flag.
 *
 * Segments are grouped into parts of the backend's `PartStore` (1 segment on disk; on S3 enough
 * to reach the 5 MiB minimum part). Bytes of a part that has not filled yet — the "tail" — are kept,
 * when a request ends, in a staging blob encrypted with the object's own data key (`sealBlob`:
 * disjoint nonce space, bound to upload and offset). The durable state is therefore: parts
 * 1..floor(offset / part size) stored, plus the tail blob, plus the offset in the database. Each
 * step writes data first and records it after, so a crash at any point leaves the recorded
 * offset true (data beyond it is rewritten on resume).
 */
export class ResumableObjects {
  /** Whole-file SHA-256 carried from one request to the next (lost on restart: then recomputed). */
  private readonly hashers = new Map<string, { offset: number; hasher: Bun.CryptoHasher }>();

  constructor(
    private readonly backend: StorageBackend,
    private readonly masterKey: DataKeyWrapper,
    private readonly objects: EncryptedObjects,
  ) {}

  /** Starts an upload of `length` bytes: a fresh data key and a backend assembly. */
  async begin(key: string, length: number) {
    const { wrapped, keyId } = await this.masterKey.newDataKey();
    const segments = segmentCount(length);
    const minSegments = Math.ceil(this.backend.minPartSize / STRIDE);
    const segmentsPerPart = Math.max(1, minSegments, Math.ceil(segments / this.backend.maxParts));
    const uploadId = await this.backend.beginParts(key);
    return { uploadId, wrappedKey: wrapped, keyId, segmentsPerPart };
  }

  /**
   * Appends a request body at `state.offset`. Ends early, keeping everything received, when the
   * body errors (client gone) or `signal` aborts. Throws SizeMismatchError("too_large") if the
   * body runs past `length`, ChecksumMismatchError if `checksum` doesn't match; in both cases the
   * bytes of this request beyond the last checkpoint are not kept.
   */
  async append(
    state: ResumableState,
    body: ReadableStream<Uint8Array>,
    opts: {
      checkpoint: (c: Checkpoint) => Promise<void>;
      checksum?: { algorithm: "sha256"; digest: Buffer };
      signal?: AbortSignal;
    },
  ): Promise<{ offset: number; interrupted: boolean }> {
    const dataKey = await this.masterKey.unwrap(state.wrappedKey, state.keyId);
    const partPlain = state.segmentsPerPart * SEGMENT_SIZE;
    const lastSegment = segmentCount(state.length) - 1;
    const buf = new Uint8Array(Math.min(partPlain, state.length));
    let base = Math.floor(state.offset / partPlain) * partPlain;
    let fill = state.offset - base;
    if (fill > 0) buf.set(await this.loadTail(state, dataKey, base, fill));

    const carried = this.hashers.get(state.uploadId);
    this.hashers.delete(state.uploadId);
    const hasher: Bun.CryptoHasher | null =
      carried?.offset === state.offset ? carried.hasher : state.offset === 0 ? new Bun.CryptoHasher("sha256") : null;
    const bodyHash = opts.checksum ? new Bun.CryptoHasher(opts.checksum.algorithm) : null;

    let inflight: Promise<StoredPart> | null = null;
    let inflightEnd = 0;
    let stored = base; // plaintext covered by parts put and acknowledged
    let checkpointed = state.offset;
    let tailVersion = state.tailVersion;
    let newParts: StoredPart[] = [];

    const drain = async () => {
      if (!inflight) return;
      const p = inflight;
      inflight = null;
      newParts.push(await p);
      stored = inflightEnd;
    };
    const flush = async () => {
      const first = base / SEGMENT_SIZE;
      const chunks = await Promise.all(
        Array.from({ length: Math.ceil(fill / SEGMENT_SIZE) }, (_, i) =>
          sealSegment(
            dataKey,
            buf.subarray(i * SEGMENT_SIZE, Math.min(fill, (i + 1) * SEGMENT_SIZE)),
            first + i,
            first + i === lastSegment,
          ),
        ),
      );
      await drain();
      const index = base / partPlain;
      const p = this.backend.putPart(state.key, state.uploadId, {
        number: index + 1,
        position: index * state.segmentsPerPart * STRIDE,
        chunks,
      });
      p.catch(() => {}); // awaited by drain(); this only keeps an early rejection from going unhandled
      inflight = p;
      inflightEnd = base + fill;
      base += fill;
      fill = 0;
    };
    const record = async (offset: number, version: number) => {
      const parts = newParts;
      newParts = [];
      await this.backend.syncParts(state.key, state.uploadId);
      await opts.checkpoint({ offset, tailVersion: version, parts });
      checkpointed = offset;
      if (tailVersion !== version && tailVersion > 0) await this.dropTail(state, tailVersion);
      tailVersion = version;
    };
    // Checkpoints taken mid-body run while the body keeps streaming: awaiting the fsync and the
    // database write stalled the body 6 times per 100 MiB (an fsync after 16 MiB: ~5 ms on the dev
    // VM's virtual disk, tens of ms on a real one). At most one runs at a time, so records stay in
    // order; parts written during its fsync are covered by the next one. Every exit below waits
    // for it first: a failed checkpoint fails the request, and none outlives it.
    let recording: Promise<void> | null = null;
    let recordFailure: { err: unknown } | null = null;
    const recordInBackground = (offset: number) => {
      recording = record(offset, 0).then(
        () => {
          recording = null;
        },
        (err) => {
          recordFailure = { err };
          recording = null;
        },
      );
    };
    const throwIfRecordFailed = () => {
      if (recordFailure) throw recordFailure.err;
    };
    const settleRecording = async () => {
      if (recording) await recording;
      throwIfRecordFailed();
    };

    const room = state.length - state.offset;
    let received = 0;
    let overflow = false;
    let interrupted = false;
    const reader = body.getReader();
    const onAbort = () => void reader.cancel().catch(() => {});
    opts.signal?.addEventListener("abort", onAbort, { once: true });
    try {
      for (;;) {
        let r: Awaited<ReturnType<typeof reader.read>>;
        try {
          r = await reader.read();
        } catch {
          interrupted = true; // the client went away: keep what arrived
          break;
        }
        if (r.done) break;
        if (opts.signal?.aborted) {
          interrupted = true;
          break;
        }
        const chunk = r.value;
        if (received + chunk.byteLength > room) {
          overflow = true;
          break;
        }
        hasher?.update(chunk);
        bodyHash?.update(chunk);
        gc.add(chunk.byteLength);
        for (let off = 0; off < chunk.byteLength; ) {
          const n = Math.min(buf.byteLength - fill, chunk.byteLength - off);
          buf.set(chunk.subarray(off, off + n), fill);
          fill += n;
          off += n;
          received += n;
          if (fill === buf.byteLength) {
            await flush();
            throwIfRecordFailed();
            if (!bodyHash && !recording && stored - checkpointed >= CHECKPOINT_BYTES) recordInBackground(stored);
          }
        }
      }
      interrupted ||= opts.signal?.aborted ?? false;
    } catch (err) {
      await settleRecording().catch(() => {});
      throw err;
    } finally {
      opts.signal?.removeEventListener("abort", onAbort);
      reader.cancel().catch(() => {});
    }

    const rejected = overflow
      ? new SizeMismatchError("too_large", state.offset + received)
      : bodyHash && (interrupted || !bodyHash.digest().equals(opts.checksum!.digest))
        ? new ChecksumMismatchError("Upload-Checksum does not match the body")
        : null;
    if (rejected) {
      await drain().catch(() => {});
      await settleRecording().catch(() => {});
      throw rejected;
    }

    await settleRecording();
    const end = state.offset + received;
    if (end === state.length) {
      if (fill > 0) await flush();
      await drain();
      await record(end, 0);
    } else {
      await drain();
      let version = 0;
      if (fill > 0) {
        version = tailVersion + 1;
        const sealed = await sealBlob(dataKey, buf.subarray(0, fill), tailAad(state, base, fill));
        await this.backend.put(tailKey(state, version), new Blob([sealed as Uint8Array<ArrayBuffer>]).stream());
      }
      await record(end, version);
    }
    if (hasher) this.hashers.set(state.uploadId, { offset: end, hasher });
    return { offset: end, interrupted };
  }

  /**
   * Publishes the finished object (all `parts`) and returns what a settled file records. The
   * SHA-256 comes from the running hash when the whole upload happened in this process, else from
   * reading the object back once.
   */
  async finish(state: ResumableState, parts: StoredPart[]): Promise<StoredObjectInfo> {
    const size = encryptedSize(state.length);
    try {
      await this.backend.completeParts(state.key, state.uploadId, parts, size);
    } catch (err) {
      // A crash after publishing but before the database recorded it: the object is already there.
      if (!(await this.hasByte(state.key, size - 1))) throw err;
    }
    const ref = {
      key: state.key,
      wrappedKey: state.wrappedKey,
      keyId: state.keyId,
      segmentSize: SEGMENT_SIZE,
      plainSize: state.length,
    };
    const carried = this.hashers.get(state.uploadId);
    this.hashers.delete(state.uploadId);
    let sha256: string;
    if (carried?.offset === state.length) sha256 = carried.hasher.digest("hex");
    else {
      const h = new Bun.CryptoHasher("sha256");
      const all = await this.objects.read(ref);
      if (!all) throw new Error(`assembled object ${state.key} is missing`);
      for await (const chunk of all) h.update(chunk);
      sha256 = h.digest("hex");
    }
    const headStream = await this.objects.read(ref, { start: 0, end: Math.min(HEAD_BYTES, state.length) - 1 });
    const head = headStream ? new Uint8Array(await new Response(headStream).arrayBuffer()) : new Uint8Array(0);
    await this.dropTails(state);
    return {
      wrappedKey: state.wrappedKey,
      keyId: state.keyId,
      segmentSize: SEGMENT_SIZE,
      sha256,
      size: state.length,
      head,
    };
  }

  /** Removes everything an unfinished upload holds (assembly and staging blobs). */
  async discard(state: Pick<ResumableState, "key" | "uploadId" | "stagingPrefix">): Promise<void> {
    this.hashers.delete(state.uploadId);
    await this.dropTails(state);
    await this.backend.abortParts(state.key, state.uploadId);
  }

  /** Whether the object at `key` exists and reaches byte `at` (a published object is never partial). */
  private async hasByte(key: string, at: number): Promise<boolean> {
    const s = await this.backend.get(key, { range: { start: at, end: at } }).catch(() => null);
    if (!s) return false;
    const got = await new Response(s).arrayBuffer().catch(() => new ArrayBuffer(0));
    return got.byteLength === 1;
  }

  private async loadTail(state: ResumableState, dataKey: CryptoKey, base: number, fill: number) {
    const stream = state.tailVersion > 0 ? await this.backend.get(tailKey(state, state.tailVersion)) : null;
    if (!stream) throw new Error(`staging tail of upload ${state.uploadId} is missing`);
    const plain = await openBlob(
      dataKey,
      new Uint8Array(await new Response(stream).arrayBuffer()),
      tailAad(state, base, fill),
    );
    if (plain.byteLength !== fill) throw new Error(`staging tail of upload ${state.uploadId} has the wrong size`);
    return plain;
  }

  private async dropTail(state: Pick<ResumableState, "stagingPrefix">, version: number) {
    await this.backend.delete(tailKey(state, version)).catch(() => {});
  }

  private async dropTails(state: Pick<ResumableState, "stagingPrefix">) {
    for await (const key of this.backend.list(`${state.stagingPrefix}/`)) await this.backend.delete(key);
  }
}

const tailKey = (state: Pick<ResumableState, "stagingPrefix">, version: number) =>
  `${state.stagingPrefix}/tail-${version}`;
const tailAad = (state: Pick<ResumableState, "uploadId">, base: number, fill: number) =>
  `storage-brain tus tail ${state.uploadId} ${base} ${fill}`;
