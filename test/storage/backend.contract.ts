import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import type { StorageBackend } from "../../src/storage/backend";

/** What every storage backend must do; run once per backend (local disk, S3). */
export function backendContract(
  name: string,
  make: () => Promise<{ backend: StorageBackend; cleanup: () => Promise<void> | void }>,
) {
  describe(`storage backend contract: ${name}`, () => {
    let backend: StorageBackend;
    let cleanup: () => Promise<void> | void;
    beforeAll(async () => {
      ({ backend, cleanup } = await make());
    });
    afterAll(async () => cleanup());

    const bytes = (n: number, seed = 1) => Uint8Array.from({ length: n }, (_, i) => (i * seed + 13) & 0xff);
    const stream = (b: Uint8Array, chunk = 7919) =>
      new ReadableStream<Uint8Array>({
        start(c) {
          for (let i = 0; i < b.byteLength; i += chunk) c.enqueue(b.slice(i, i + chunk));
          c.close();
        },
      });
    const exists = async (k: string) => {
      const s = await backend.get(k, { range: { start: 0, end: 0 } });
      await s?.cancel();
      return s !== null;
    };
    const read = async (s: ReadableStream<Uint8Array> | null) =>
      s ? new Uint8Array(await new Response(s).arrayBuffer()) : null;
    let n = 0;
    const key = () => `t/contract/${name}-${Date.now()}-${n++}`;

    test("put, get, stat, delete (idempotent)", async () => {
      const k = key();
      const data = bytes(300_000);
      expect(await backend.stat(k)).toBeNull();
      expect((await backend.put(k, stream(data))).size).toBe(300_000);
      expect(await read(await backend.get(k))).toEqual(data);
      expect(await backend.stat(k)).toEqual({ size: 300_000 });
      await backend.delete(k);
      expect(await exists(k)).toBe(false);
      expect(await backend.get(k)).toBeNull();
      expect(await backend.stat(k)).toBeNull();
      await backend.delete(k);
    });

    test("ranges: first byte, last byte, across a 64 KiB edge, whole", async () => {
      const k = key();
      const data = bytes(200_000, 3);
      await backend.put(k, stream(data));
      for (const [s, e] of [
        [0, 0],
        [199_999, 199_999],
        [65_535, 65_536],
        [0, 199_999],
        [131_071, 131_072 + 1000],
      ] as const) {
        expect(await read(await backend.get(k, { range: { start: s, end: e } }))).toEqual(data.subarray(s, e + 1));
      }
    });

    test("missing keys: get answers null", async () => {
      expect(await backend.get("t/contract/none")).toBeNull();
    });

    test("overwrite replaces the object entirely", async () => {
      const k = key();
      await backend.put(k, stream(bytes(50_000, 5)));
      await backend.put(k, stream(bytes(1000, 7)));
      expect(await read(await backend.get(k))).toEqual(bytes(1000, 7));
    });

    test("a stream that fails mid-way leaves nothing behind", async () => {
      const k = key();
      const failing = new ReadableStream<Uint8Array>({
        pull(c) {
          if (!(this as any).sent) {
            (this as any).sent = true;
            c.enqueue(bytes(100_000));
          } else c.error(new Error("client went away"));
        },
      });
      await expect(backend.put(k, failing)).rejects.toThrow("client went away");
      expect(await exists(k)).toBe(false);
      const aborter = new AbortController();
      const slow = new ReadableStream<Uint8Array>({
        async pull(c) {
          await Bun.sleep(5);
          c.enqueue(bytes(10_000));
        },
      });
      setTimeout(() => aborter.abort(new Error("aborted by test")), 30);
      await expect(backend.put(k, slow, { signal: aborter.signal })).rejects.toThrow();
      expect(await exists(k)).toBe(false);
    });

    test("keys that could escape are refused", async () => {
      for (const bad of ["../x", "a/../../b", "/abs", "a//b", "a/b/", "a\\b", "a b", ""]) {
        await expect(backend.get(bad)).rejects.toThrow(/unsafe storage key/);
      }
    });

    test("concurrent puts of different keys and listing by prefix", async () => {
      const base = `t/contract-list-${name}-${Date.now()}`;
      const keys = Array.from({ length: 8 }, (_, i) => `${base}/k${i}`);
      await Promise.all(keys.map((k, i) => backend.put(k, stream(bytes(20_000 + i, i + 1)))));
      for (const [i, k] of keys.entries()) expect(await read(await backend.get(k))).toEqual(bytes(20_000 + i, i + 1));
      const listed: string[] = [];
      for await (const k of backend.list(`${base}/`)) listed.push(k);
      expect(listed.sort()).toEqual([...keys].sort());
      await backend.ping();
    });

    test("list takes the prefix as a string prefix, not only a directory", async () => {
      const base = `t/contract-prefix-${name}-${Date.now()}`;
      const keys = [`${base}/ab/x`, `${base}/abc/y`, `${base}/abd`, `${base}/b/z`];
      for (const k of keys) await backend.put(k, stream(bytes(10)));
      const list = async (p: string) => {
        const out: string[] = [];
        for await (const k of backend.list(p)) out.push(k);
        return out.sort();
      };
      expect(await list(`${base}/ab`)).toEqual([`${base}/ab/x`, `${base}/abc/y`, `${base}/abd`]);
      expect(await list(`${base}/ab/`)).toEqual([`${base}/ab/x`]);
      expect(await list(`${base}/none/`)).toEqual([]);
      expect(await list(`${base}/b/z`)).toEqual([`${base}/b/z`]);
    });
  });
}
