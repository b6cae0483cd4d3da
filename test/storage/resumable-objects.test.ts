import { afterAll, expect, test } from "bun:test";
import { randomBytes } from "node:crypto";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { StoredPart } from "../../src/storage/backend";
import { MasterKey } from "../../src/storage/crypto";
import { EncryptedObjects } from "../../src/storage/encrypted-objects";
import { LocalBackend } from "../../src/storage/local.backend";
import { type Checkpoint, ResumableObjects, type ResumableState } from "../../src/storage/resumable-objects";

// ResumableObjects (src/storage/resumable-objects.ts) on the real local backend: its mid-body
// checkpoints run while the body streams, in order, and none outlives the request.

const dir = mkdtempSync(join(tmpdir(), "sb-resumable-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
const MiB = 1024 * 1024;
const backend = new LocalBackend(join(dir, "objects"));
await backend.init();
const master = await MasterKey.fromRaw(randomBytes(32));
const objects = new EncryptedObjects(backend, master);
const resumable = new ResumableObjects(backend, master, objects);

async function begin(name: string, length: number): Promise<ResumableState> {
  const key = `t/${name}`;
  const b = await resumable.begin(key, length);
  return {
    key,
    stagingPrefix: `t/tus/${name}`,
    uploadId: b.uploadId,
    wrappedKey: b.wrappedKey,
    keyId: b.keyId,
    length,
    offset: 0,
    segmentsPerPart: b.segmentsPerPart,
    tailVersion: 0,
  };
}

/** `bytes` as a stream of 256 KiB chunks, each handed out only when `gate()` allows it. */
function streamOf(bytes: Uint8Array, gate: (offset: number) => Promise<void> = async () => {}) {
  let at = 0;
  return new ReadableStream<Uint8Array>({
    async pull(c) {
      if (at >= bytes.byteLength) return c.close();
      await gate(at);
      const n = Math.min(256 * 1024, bytes.byteLength - at);
      c.enqueue(bytes.subarray(at, at + n));
      at += n;
    },
  });
}

test("a slow checkpoint does not hold the body back; checkpoints stay in order; the object is whole", async () => {
  const length = 40 * MiB;
  const plain = new Uint8Array(randomBytes(length));
  const state = await begin("slow", length);
  const seen: { offset: number; readAt: number; parts: number[] }[] = [];
  let read = 0;
  let releaseFirst: () => void = () => {};
  const firstHeld = new Promise<void>((r) => {
    releaseFirst = r;
  });
  const all: StoredPart[] = [];
  const out = await resumable.append(
    state,
    streamOf(plain, async (at) => {
      read = at;
      // The body reaches 32 MiB only if the first checkpoint (at 16 MiB) lets it through.
      if (at === 32 * MiB) releaseFirst();
    }),
    {
      checkpoint: async (c: Checkpoint) => {
        seen.push({ offset: c.offset, readAt: read, parts: c.parts.map((p) => p.number) });
        all.push(...c.parts);
        if (seen.length === 1) await firstHeld;
      },
    },
  );
  expect(out).toEqual({ offset: length, interrupted: false });
  const offsets = seen.map((s) => s.offset);
  expect(offsets[0]).toBe(16 * MiB);
  expect(offsets.at(-1)).toBe(length);
  expect(offsets).toEqual([...offsets].sort((a, b) => a - b));
  // Every part is recorded exactly once, in order, across the checkpoints.
  expect(all.map((p) => p.number)).toEqual(Array.from({ length: 40 }, (_, i) => i + 1));

  const info = await resumable.finish({ ...state, offset: length }, all);
  expect(info.size).toBe(length);
  const back = await objects.read({
    key: state.key,
    wrappedKey: info.wrappedKey,
    keyId: info.keyId,
    segmentSize: info.segmentSize,
    plainSize: length,
  });
  expect(Buffer.from(await new Response(back!).arrayBuffer()).equals(Buffer.from(plain))).toBe(true);
}, 20_000);

test("a failed checkpoint fails the request, and no checkpoint runs after it", async () => {
  const length = 48 * MiB;
  const plain = new Uint8Array(randomBytes(length));
  const state = await begin("failing", length);
  let calls = 0;
  const attempt = resumable.append(state, streamOf(plain), {
    checkpoint: async () => {
      calls++;
      await Bun.sleep(20);
      throw new Error("database gone");
    },
  });
  await expect(attempt).rejects.toThrow("database gone");
  await Bun.sleep(100);
  expect(calls).toBe(1);
}, 20_000);
