import { expect, test } from "bun:test";
import { rechunk } from "../../src/storage/streams";

// rechunk (src/storage/streams.ts) regroups the stored bytes into whole segments for decryption.

async function* from(...chunks: Uint8Array[]) {
  for (const c of chunks) yield c;
}
const bytes = (n: number, start = 0) => Uint8Array.from({ length: n }, (_, i) => (start + i) % 251);

test("aligned input comes out as views of the input, not copies", async () => {
  const a = bytes(8);
  const out: Uint8Array[] = [];
  for await (const c of rechunk(from(a), 4)) out.push(c);
  expect(out.map((c) => [...c])).toEqual([[...a.subarray(0, 4)], [...a.subarray(4)]]);
  expect(out.every((c) => c.buffer === a.buffer)).toBe(true);
});

test("unaligned input is regrouped into exact chunks, the last one shorter", async () => {
  const all = bytes(23);
  const parts = [all.subarray(0, 3), all.subarray(3, 10), all.subarray(10, 11), all.subarray(11)];
  const out: number[][] = [];
  for await (const c of rechunk(from(...parts), 5)) out.push([...c]); // copied before the next pull
  expect(out.map((c) => c.length)).toEqual([5, 5, 5, 5, 3]);
  expect(out.flat()).toEqual([...all]);
});

test("a yielded chunk stays valid until the second next() after it", async () => {
  const all = bytes(12);
  const it = rechunk(from(all.subarray(0, 1), all.subarray(1)), 4);
  const first = (await it.next()).value as Uint8Array;
  const kept = [...first];
  await it.next();
  expect([...first]).toEqual(kept);
});

test("nothing in, nothing out; a total smaller than the chunk size caps the chunk", async () => {
  const none: Uint8Array[] = [];
  for await (const c of rechunk(from(), 4)) none.push(c);
  expect(none).toEqual([]);
  const out: number[] = [];
  for await (const c of rechunk(from(bytes(2), bytes(1, 2)), 1024, 3)) out.push(c.byteLength);
  expect(out).toEqual([3]);
});
