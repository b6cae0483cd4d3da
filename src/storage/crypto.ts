import { createCipheriv, createDecipheriv, createHash, randomBytes } from "node:crypto";
import { rechunk } from "./streams";

/**
 * Envelope encryption of objects at rest.
 *
 * Every object gets its own random 256-bit data key; the data key is wrapped (AES-256-GCM) by
 * the master key and stored in the database with the master key's id, so the master key can be
 * rotated by re-wrapping data keys without touching objects.
 *
 * Object format: the plaintext is cut into segments of SEGMENT_SIZE bytes (the last shorter);
 * each segment is stored as AES-256-GCM ciphertext followed by its 16-byte tag. The 12-byte
 * nonce is (segment index as u64 BE, 1 if final else 0 as u32 BE). Nonces never repeat because
 * the key is unique per object; encoding the index and the final flag in the nonce means a
 * reordered, dropped, duplicated or truncated segment fails authentication. A range read fetches
 * and decrypts only the segments it touches.
 *
 * Segment size: WebCrypto AES-GCM here does ~1,900 MB/s on 1 MiB segments, ~1,600 on 256 KiB and
 * ~760 on 64 KiB. 1 MiB keeps encryption well above the disk-stream ceiling (~985 MB/s), and a
 * small range read costs at most two segment decrypts (~0.5 ms each), which we accept.
 *
 * Which AES-GCM implementation does what (WebCrypto seals full segments, node:crypto does the rest
 * and every decryption) is measured in docs/decisions.md, "AES-GCM: node:crypto to decrypt,
 * WebCrypto to seal segments"; see `seal` and `open`.
 */
export const SEGMENT_SIZE = 1024 * 1024;
export const TAG_SIZE = 16;

export class DecryptionError extends Error {
  override name = "DecryptionError";
}

/** The declared size and the bytes received disagree. */
export class SizeMismatchError extends Error {
  override name = "SizeMismatchError";
  constructor(
    readonly kind: "too_large" | "too_short",
    readonly received: number,
  ) {
    super(kind === "too_large" ? "body is larger than the declared size" : "body is shorter than the declared size");
  }
}

export function segmentCount(plainSize: number, segmentSize = SEGMENT_SIZE): number {
  return Math.max(1, Math.ceil(plainSize / segmentSize));
}

export function encryptedSize(plainSize: number, segmentSize = SEGMENT_SIZE): number {
  return plainSize + segmentCount(plainSize, segmentSize) * TAG_SIZE;
}

function nonce(index: number, final: boolean): Uint8Array<ArrayBuffer> {
  const n = new Uint8Array(12);
  const v = new DataView(n.buffer);
  v.setBigUint64(0, BigInt(index));
  v.setUint32(8, final ? 1 : 0);
  return n;
}

/**
 * Payloads up to this size are sealed with node:crypto, synchronously: WebCrypto AES-GCM costs
 * ~76 µs per call for 4 KiB against ~4 µs for node:crypto, which made key wrapping and the single
 * segment of a small file a large share of a small upload's CPU. Full 1 MiB segments are sealed
 * with WebCrypto: node:crypto's output needs one more copy to append the tag, and with it 8
 * concurrent uploads peaked ~15 MiB higher for no clear gain. Opening (decryption) always uses
 * node:crypto (`open`). Both produce the same bytes (ciphertext ‖ 16-byte tag), so readers cannot
 * tell them apart. docs/decisions.md, "AES-GCM: node:crypto to decrypt, WebCrypto to seal segments".
 */
const SMALL_PAYLOAD = 64 * 1024;
/** The raw bytes of every key imported here, for the node:crypto path (keys never leave this module). */
const rawOf = new WeakMap<CryptoKey, Buffer>();

async function importAes(raw: Uint8Array): Promise<CryptoKey> {
  const key = await crypto.subtle.importKey("raw", raw as Uint8Array<ArrayBuffer>, "AES-GCM", false, [
    "encrypt",
    "decrypt",
  ]);
  rawOf.set(key, Buffer.from(raw));
  return key;
}

/** AES-256-GCM: ciphertext ‖ tag. */
async function seal(key: CryptoKey, iv: Uint8Array, plain: Uint8Array, aad?: Uint8Array): Promise<Uint8Array> {
  const raw = plain.byteLength <= SMALL_PAYLOAD ? rawOf.get(key) : undefined;
  if (raw) {
    const c = createCipheriv("aes-256-gcm", raw, iv);
    if (aad) c.setAAD(aad);
    const body = c.update(plain);
    const last = c.final();
    const out = new Uint8Array(body.byteLength + last.byteLength + TAG_SIZE);
    out.set(body, 0);
    out.set(last, body.byteLength);
    out.set(c.getAuthTag(), body.byteLength + last.byteLength);
    return out;
  }
  const params: { name: "AES-GCM"; iv: Uint8Array<ArrayBuffer>; additionalData?: Uint8Array<ArrayBuffer> } = {
    name: "AES-GCM",
    iv: iv as Uint8Array<ArrayBuffer>,
  };
  if (aad) params.additionalData = aad as Uint8Array<ArrayBuffer>;
  return new Uint8Array(await crypto.subtle.encrypt(params, key, plain as Uint8Array<ArrayBuffer>));
}

/**
 * Inverse of `seal`; throws (any error) when authentication fails. node:crypto at every size: in
 * Bun 1.4 WebCrypto's AES-GCM runs on the JS thread too, at ~5× node:crypto's cost per byte, so
 * it was half of a range read's CPU. WebCrypto remains for keys imported elsewhere (no raw bytes).
 */
async function open(key: CryptoKey, iv: Uint8Array, sealed: Uint8Array, aad?: Uint8Array): Promise<Uint8Array> {
  const n = sealed.byteLength - TAG_SIZE;
  const raw = rawOf.get(key);
  if (raw) {
    if (n < 0) throw new Error("shorter than a tag");
    const d = createDecipheriv("aes-256-gcm", raw, iv);
    if (aad) d.setAAD(aad);
    d.setAuthTag(sealed.subarray(n));
    const body = d.update(sealed.subarray(0, n));
    const last = d.final(); // GCM is a stream mode: nothing is held back, so this is empty
    if (last.byteLength === 0) return body;
    const out = new Uint8Array(body.byteLength + last.byteLength);
    out.set(body, 0);
    out.set(last, body.byteLength);
    return out;
  }
  const params: { name: "AES-GCM"; iv: Uint8Array<ArrayBuffer>; additionalData?: Uint8Array<ArrayBuffer> } = {
    name: "AES-GCM",
    iv: iv as Uint8Array<ArrayBuffer>,
  };
  if (aad) params.additionalData = aad as Uint8Array<ArrayBuffer>;
  return new Uint8Array(await crypto.subtle.decrypt(params, key, sealed as Uint8Array<ArrayBuffer>));
}

/** The master key and its id; wraps and unwraps per-object data keys. */
export class MasterKey {
  private constructor(
    readonly id: string,
    private readonly key: CryptoKey,
    private readonly raw: Uint8Array,
  ) {}

  static async fromRaw(raw: Uint8Array): Promise<MasterKey> {
    if (raw.byteLength !== 32) throw new Error("master key must be 32 bytes");
    const id = `mk_${createHash("sha256").update("storage-brain master key id").update(raw).digest("hex").slice(0, 16)}`;
    return new MasterKey(id, await importAes(raw), raw);
  }

  /** A sub-key for another purpose (e.g. URL signing), derived so it never equals the master key. */
  derive(purpose: string): Buffer {
    return createHash("sha256").update(this.raw).update(`\0storage-brain:${purpose}`).digest();
  }

  async newDataKey(): Promise<{ key: CryptoKey; wrapped: string; keyId: string }> {
    const raw = randomBytes(32);
    const wrapped = await this.wrapRaw(raw);
    const key = await importAes(raw);
    raw.fill(0);
    return { key, wrapped, keyId: this.id };
  }

  async unwrap(wrapped: string, keyId: string): Promise<CryptoKey> {
    const raw = await this.unwrapRaw(wrapped, keyId);
    const key = await importAes(raw);
    raw.fill(0);
    return key;
  }

  /** Key rotation: a data key wrapped by `from` (this key) re-wrapped by `to`, never leaving memory. */
  async rewrap(wrapped: string, keyId: string, to: MasterKey): Promise<string> {
    const raw = await this.unwrapRaw(wrapped, keyId);
    try {
      return await to.wrapRaw(raw);
    } finally {
      raw.fill(0);
    }
  }

  private async wrapRaw(raw: Uint8Array): Promise<string> {
    const iv = randomBytes(12);
    const ct = await seal(this.key, iv, raw);
    return Buffer.concat([iv, ct]).toString("base64");
  }

  private async unwrapRaw(wrapped: string, keyId: string): Promise<Uint8Array> {
    if (keyId !== this.id)
      throw new DecryptionError(`object key was wrapped by master key ${keyId}, not the configured one`);
    const buf = Buffer.from(wrapped, "base64");
    try {
      return await open(this.key, buf.subarray(0, 12), buf.subarray(12));
    } catch {
      throw new DecryptionError("data key could not be unwrapped");
    }
  }
}

/**
 * Encrypts a plaintext stream into the segment format. With `plainSize`, exactly that many bytes
 * are accepted: SizeMismatchError as soon as the input is longer, or at the end if shorter. Without
 * it (multipart uploads of unknown length) one segment is held back until the next one starts, so
 * the last segment can still be flagged final; `maxSize` then bounds the input. `onPlain` sees
 * every plaintext segment in order (hashing, type sniffing).
 */
export async function* encryptSegments(opts: {
  input: AsyncIterable<Uint8Array>;
  key: CryptoKey;
  plainSize?: number;
  maxSize?: number;
  onPlain?: (segment: Uint8Array) => void;
  segmentSize?: number;
}): AsyncGenerator<Uint8Array> {
  const segmentSize = opts.segmentSize ?? SEGMENT_SIZE;
  const limit = opts.plainSize ?? opts.maxSize ?? Number.POSITIVE_INFINITY;
  const sealNext = (seg: Uint8Array<ArrayBuffer>, index: number, final: boolean) => {
    opts.onPlain?.(seg);
    return seal(opts.key, nonce(index, final), seg);
  };
  let index = 0;
  let total = 0;
  let held: Uint8Array<ArrayBuffer> | null = null;
  // The most input that can come (one byte past the bound, to see it overrun): a small body's
  // buffer is its own size, not a zeroed 1 MiB segment (multipart uploads of a few KiB).
  const bound = opts.plainSize ?? opts.maxSize;
  for await (const seg of rechunk(opts.input, segmentSize, bound === undefined ? undefined : bound + 1)) {
    total += seg.byteLength;
    if (total > limit) throw new SizeMismatchError("too_large", total);
    if (opts.plainSize !== undefined) {
      yield await sealNext(seg, index++, total === opts.plainSize);
      continue;
    }
    if (held) yield await sealNext(held, index++, false);
    held = seg;
  }
  if (opts.plainSize !== undefined) {
    if (total < opts.plainSize) throw new SizeMismatchError("too_short", total);
    if (opts.plainSize === 0) yield await sealNext(new Uint8Array(0), 0, true);
    return;
  }
  yield await sealNext(held ?? new Uint8Array(0), index, true);
}

/**
 * One segment of the object format, sealed on its own (resumable uploads seal segments as they
 * fill, across requests). Same nonce scheme as `encryptSegments`, so readers cannot tell the two
 * writers apart.
 */
export async function sealSegment(key: CryptoKey, plain: Uint8Array, index: number, final: boolean) {
  return seal(key, nonce(index, final), plain);
}

/**
 * Staging blobs (a resumable upload's unfinished tail) are encrypted with the object's own data
 * key, so their nonces must never equal a segment nonce: a segment nonce starts with the high
 * byte of a u64 segment index (always 0 for any real object), a blob nonce with 0xff followed by
 * 11 random bytes. `aad` binds the blob to where it belongs (upload and offset), so a blob of one
 * upload or offset cannot be replayed as another. Format: nonce (12) ‖ ciphertext ‖ tag (16).
 */
export async function sealBlob(key: CryptoKey, plain: Uint8Array, aad: string): Promise<Uint8Array> {
  const iv = randomBytes(12);
  iv[0] = 0xff;
  const ct = await seal(key, iv, plain, new TextEncoder().encode(aad));
  const out = new Uint8Array(12 + ct.byteLength);
  out.set(iv, 0);
  out.set(ct, 12);
  return out;
}

export async function openBlob(key: CryptoKey, sealed: Uint8Array, aad: string): Promise<Uint8Array> {
  if (sealed.byteLength < 12 + TAG_SIZE || sealed[0] !== 0xff) throw new DecryptionError("staging blob is malformed");
  try {
    return await open(key, sealed.subarray(0, 12), sealed.subarray(12), new TextEncoder().encode(aad));
  } catch {
    throw new DecryptionError("staging blob failed authentication");
  }
}

/** Which stored bytes hold plaintext bytes [start, end] (inclusive). */
export function encryptedRangeFor(plainSize: number, start: number, end: number, segmentSize = SEGMENT_SIZE) {
  const stride = segmentSize + TAG_SIZE;
  const firstSegment = Math.floor(start / segmentSize);
  const lastSegment = Math.floor(end / segmentSize);
  const encStart = firstSegment * stride;
  const encEnd = Math.min(encryptedSize(plainSize, segmentSize), (lastSegment + 1) * stride) - 1;
  return { firstSegment, lastSegment, encStart, encEnd };
}

/**
 * Decrypts stored bytes that begin at segment `firstSegment` and yields plaintext bytes
 * [start, end] of the object. Any authentication failure throws DecryptionError: tampered data
 * is never returned.
 */
export async function* decryptSegments(opts: {
  input: AsyncIterable<Uint8Array>;
  key: CryptoKey;
  plainSize: number;
  start: number;
  end: number;
  segmentSize?: number;
}): AsyncGenerator<Uint8Array> {
  const segmentSize = opts.segmentSize ?? SEGMENT_SIZE;
  const lastIndex = segmentCount(opts.plainSize, segmentSize) - 1;
  let index = Math.floor(opts.start / segmentSize);
  const expected = encryptedRangeFor(opts.plainSize, opts.start, opts.end, segmentSize);
  for await (const enc of rechunk(opts.input, segmentSize + TAG_SIZE, expected.encEnd - expected.encStart + 1)) {
    let plain: Uint8Array;
    try {
      plain = await open(opts.key, nonce(index, index === lastIndex), enc);
    } catch {
      throw new DecryptionError(`segment ${index} failed authentication`);
    }
    const segStart = index * segmentSize;
    const from = Math.max(0, opts.start - segStart);
    const to = Math.min(plain.byteLength, opts.end - segStart + 1);
    if (to > from) yield from === 0 && to === plain.byteLength ? plain : plain.subarray(from, to);
    if (segStart + plain.byteLength > opts.end) return;
    index++;
  }
  throw new DecryptionError("object is shorter than its recorded size");
}
