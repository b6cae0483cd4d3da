/**
 * File contents the soak can re-create from a seed at any offset, so a download (whole or a range)
 * is checked byte by byte without keeping any file in memory: byte i of a file is byte i%4 of a
 * 32-bit hash of (seed, i/4), little-endian, except the first bytes, which are a PNG header the
 * server's type check accepts.
 */
import { PNG_MAGIC } from "../lib/client";

function mix32(x: number): number {
  x = Math.imul(x ^ (x >>> 16), 0x7feb352d);
  x = Math.imul(x ^ (x >>> 15), 0x846ca68b);
  return (x ^ (x >>> 16)) >>> 0;
}

/** Bytes [start, end) of the file with this seed. */
export function contentRange(seed: number, start: number, end: number): Uint8Array {
  const w0 = Math.floor(start / 4);
  const w1 = Math.ceil(end / 4);
  const words = new Uint32Array(w1 - w0);
  for (let i = 0; i < words.length; i++) words[i] = mix32((seed ^ Math.imul(w0 + i, 0x9e3779b9)) | 0);
  const out = new Uint8Array(words.buffer, start - w0 * 4, end - start);
  for (let i = start; i < Math.min(end, PNG_MAGIC.length); i++) out[i - start] = PNG_MAGIC[i]!;
  return out;
}

export function sha256Hex(bytes: Uint8Array): string {
  return new Bun.CryptoHasher("sha256").update(bytes).digest("hex");
}

/** Log-uniform size in [min, max]: most files small, some large, like real traffic. */
export function logUniformSize(min: number, max: number): number {
  return Math.round(Math.exp(Math.log(min) + Math.random() * (Math.log(max) - Math.log(min))));
}

/** Index of a weighted choice. */
export function pickWeighted(weights: readonly number[]): number {
  const total = weights.reduce((a, b) => a + b, 0);
  let r = Math.random() * total;
  for (let i = 0; i < weights.length; i++) {
    r -= weights[i]!;
    if (r < 0) return i;
  }
  return weights.length - 1;
}
