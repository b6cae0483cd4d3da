import { describe, expect, test } from "bun:test";
import { randomBytes } from "node:crypto";
import {
  decryptSegments,
  encryptedRangeFor,
  encryptedSize,
  encryptSegments,
  MasterKey,
  SizeMismatchError,
  TAG_SIZE,
} from "../../src/storage/crypto";

const SEG = 1024; // small segments make edge cases cheap; the format is the same
const collect = async (it: AsyncIterable<Uint8Array>) => {
  const parts: Uint8Array[] = [];
  for await (const p of it) parts.push(p);
  return new Uint8Array(Buffer.concat(parts));
};
async function* chunks(b: Uint8Array, n = 333) {
  for (let i = 0; i < b.byteLength; i += n) yield b.subarray(i, i + n);
}

describe("segment encryption", () => {
  const master = MasterKey.fromRaw(randomBytes(32));

  for (const size of [1, SEG - 1, SEG, SEG + 1, 3 * SEG, 3 * SEG + 17]) {
    for (const declared of [true, false]) {
      test(`${size} bytes, ${declared ? "declared" : "unknown"} length: round trip and every range`, async () => {
        const { key } = await (await master).newDataKey();
        const plain = new Uint8Array(randomBytes(size));
        const enc = await collect(
          encryptSegments({ input: chunks(plain), key, plainSize: declared ? size : undefined, segmentSize: SEG }),
        );
        expect(enc.byteLength).toBe(encryptedSize(size, SEG));
        for (const [s, e] of [
          [0, size - 1],
          [0, 0],
          [size - 1, size - 1],
          [Math.floor(size / 2), size - 1],
          [SEG - 1, Math.min(SEG, size - 1)],
        ] as const) {
          if (s > e || s >= size) continue;
          const r = encryptedRangeFor(size, s, e, SEG);
          const out = await collect(
            decryptSegments({
              input: chunks(enc.subarray(r.encStart, r.encEnd + 1), 500),
              key,
              plainSize: size,
              start: s,
              end: e,
              segmentSize: SEG,
            }),
          );
          expect(out).toEqual(plain.subarray(s, e + 1));
        }
      });
    }
  }

  test("declared size is enforced both ways; maxSize bounds unknown lengths", async () => {
    const { key } = await (await master).newDataKey();
    const data = new Uint8Array(3000);
    await expect(
      collect(encryptSegments({ input: chunks(data), key, plainSize: 2999, segmentSize: SEG })),
    ).rejects.toBeInstanceOf(SizeMismatchError);
    await expect(
      collect(encryptSegments({ input: chunks(data), key, plainSize: 3001, segmentSize: SEG })),
    ).rejects.toThrow("shorter");
    await expect(
      collect(encryptSegments({ input: chunks(data), key, maxSize: 2000, segmentSize: SEG })),
    ).rejects.toThrow("larger");
  });

  test("truncation, reordering and bit flips fail authentication", async () => {
    const { key } = await (await master).newDataKey();
    const plain = new Uint8Array(randomBytes(3 * SEG));
    const enc = await collect(encryptSegments({ input: chunks(plain), key, plainSize: 3 * SEG, segmentSize: SEG }));
    const stride = SEG + TAG_SIZE;
    const decryptAll = (bytes: Uint8Array, size = 3 * SEG) =>
      collect(
        decryptSegments({ input: chunks(bytes), key, plainSize: size, start: 0, end: size - 1, segmentSize: SEG }),
      );
    const flipped = enc.slice();
    flipped[stride + 5]! ^= 1;
    await expect(decryptAll(flipped)).rejects.toThrow("failed authentication");
    const swapped = new Uint8Array(
      Buffer.concat([enc.subarray(stride, 2 * stride), enc.subarray(0, stride), enc.subarray(2 * stride)]),
    );
    await expect(decryptAll(swapped)).rejects.toThrow("failed authentication");
    // dropping the final segment and claiming a shorter object: segment 1 was not sealed as final
    await expect(decryptAll(enc.subarray(0, 2 * stride), 2 * SEG)).rejects.toThrow("failed authentication");
  });

  test("data keys are wrapped by the master key and bound to its id", async () => {
    const m = await master;
    const { wrapped } = await m.newDataKey();
    await expect(m.unwrap(wrapped, "mk_other")).rejects.toThrow("master key");
    const other = await MasterKey.fromRaw(randomBytes(32));
    await expect(other.unwrap(wrapped, other.id)).rejects.toThrow("unwrapped");
    await m.unwrap(wrapped, m.id);
  });

  test("sealed small (node:crypto) or full-segment (WebCrypto), opened with node:crypto: the same AES-256-GCM as WebCrypto", async () => {
    // Everything sealed here is checked against WebCrypto directly, outside the module: the
    // wrapped key (32 bytes), a one-segment small object, and a full 1 MiB segment.
    const masterRaw = randomBytes(32);
    const m = await MasterKey.fromRaw(masterRaw);
    const importRaw = (raw: Uint8Array) =>
      crypto.subtle.importKey("raw", raw as Uint8Array<ArrayBuffer>, "AES-GCM", false, ["encrypt", "decrypt"]);
    const nonce = (index: number, final: boolean) => {
      const n = new Uint8Array(12);
      new DataView(n.buffer).setBigUint64(0, BigInt(index));
      new DataView(n.buffer).setUint32(8, final ? 1 : 0);
      return n;
    };
    const { key, wrapped } = await m.newDataKey();
    const w = Buffer.from(wrapped, "base64");
    const dataRaw = new Uint8Array(
      await crypto.subtle.decrypt(
        { name: "AES-GCM", iv: w.subarray(0, 12) },
        await importRaw(masterRaw),
        w.subarray(12),
      ),
    );
    expect(dataRaw.byteLength).toBe(32);
    const outside = await importRaw(dataRaw);
    for (const size of [4096, 1024 * 1024]) {
      const plain = new Uint8Array(randomBytes(size));
      const sealed = await collect(encryptSegments({ input: chunks(plain, 4096), key, plainSize: size }));
      const opened = await crypto.subtle.decrypt({ name: "AES-GCM", iv: nonce(0, true) }, outside, sealed);
      expect(new Uint8Array(opened)).toEqual(plain);
      // And the other way: WebCrypto's output read back through the module.
      const theirs = new Uint8Array(
        await crypto.subtle.encrypt({ name: "AES-GCM", iv: nonce(0, true) }, outside, plain),
      );
      const back = await collect(
        decryptSegments({ input: chunks(theirs, 4096), key, plainSize: size, start: 0, end: size - 1 }),
      );
      expect(back).toEqual(plain);
    }
  });
});
