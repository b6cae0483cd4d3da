import { randomUUID } from "node:crypto";
import type { Dirent } from "node:fs";
import { mkdir, open, readdir, rename, rm, stat } from "node:fs/promises";
import { dirname, join, relative, sep } from "node:path";
import { assertSafeKey, type ByteRange, type StorageBackend, type StoredPart } from "./backend";
import { iteratorToStream } from "./streams";

/** A temp file untouched this long belongs to no live upload (a stalled PUT is expired after an hour too). */
const STALE_TMP_MS = 60 * 60 * 1000;

/**
 * Objects as files under `root`. Writes go to `root/.tmp/<uuid>` then fsync + rename, so a
 * crash or an aborted upload never leaves a half object at the real key (the .tmp dir is
 * cleared at start-up). Key paths can't escape `root`: keys are validated id paths.
 */
export class LocalBackend implements StorageBackend {
  readonly name = "local";
  /** Parts can be any size here; 1 segment per part keeps a resumable upload's unsealed tail small. */
  readonly minPartSize = 1;
  readonly maxParts = Number.MAX_SAFE_INTEGER;
  private readonly tmpDir: string;
  private readonly partsDir: string;

  constructor(private readonly root: string) {
    this.tmpDir = join(root, ".tmp");
    this.partsDir = join(root, ".parts");
  }

  /**
   * Creates the directories and removes temp files left by a crash (not `.parts`: those resume).
   * Only temp files untouched for an hour go: CLI commands (backup, doctor, admin ...) open the
   * backend while the server runs, and must not pull the files of uploads in flight from under it.
   */
  async init(): Promise<void> {
    await mkdir(this.tmpDir, { recursive: true, mode: 0o700 });
    const staleBefore = Date.now() - STALE_TMP_MS;
    for (const name of await readdir(this.tmpDir)) {
      const path = join(this.tmpDir, name);
      const st = await stat(path).catch(() => null);
      if (st && st.mtimeMs < staleBefore) await rm(path, { recursive: true, force: true });
    }
    await mkdir(this.partsDir, { recursive: true, mode: 0o700 });
  }

  /** An assembly is one staging file, written in place at each part's position, renamed on completion. */
  private partsFile(uploadId: string): string {
    if (!/^[0-9a-f-]{36}$/.test(uploadId)) throw new Error(`bad parts id: ${JSON.stringify(uploadId)}`);
    return join(this.partsDir, uploadId);
  }

  async beginParts(key: string): Promise<string> {
    assertSafeKey(key);
    const id = randomUUID();
    await (await open(this.partsFile(id), "wx", 0o600)).close();
    return id;
  }

  async putPart(
    _key: string,
    uploadId: string,
    part: { number: number; position: number; chunks: Uint8Array[] },
  ): Promise<StoredPart> {
    const fh = await open(this.partsFile(uploadId), "r+");
    try {
      let pos = part.position;
      for (const chunk of part.chunks) {
        let off = 0;
        while (off < chunk.byteLength) {
          const { bytesWritten } = await fh.write(chunk, off, chunk.byteLength - off, pos);
          off += bytesWritten;
          pos += bytesWritten;
        }
      }
    } finally {
      await fh.close();
    }
    return { number: part.number, etag: "" };
  }

  async syncParts(_key: string, uploadId: string): Promise<void> {
    const fh = await open(this.partsFile(uploadId), "r+");
    try {
      await fh.sync();
    } finally {
      await fh.close();
    }
  }

  async completeParts(key: string, uploadId: string, _parts: StoredPart[], size: number): Promise<void> {
    const target = this.pathOf(key);
    const file = this.partsFile(uploadId);
    const fh = await open(file, "r+");
    try {
      // Parts are rewritten in place, so the file can't be longer than the object, but be exact.
      await fh.truncate(size);
      await fh.sync();
    } finally {
      await fh.close();
    }
    await renameIntoPlace(file, target);
  }

  async abortParts(_key: string, uploadId: string): Promise<void> {
    await rm(this.partsFile(uploadId), { force: true });
  }

  private pathOf(key: string): string {
    assertSafeKey(key);
    return join(this.root, ...key.split("/"));
  }

  async put(
    key: string,
    body: ReadableStream<Uint8Array>,
    opts: { signal?: AbortSignal } = {},
  ): Promise<{ size: number }> {
    const target = this.pathOf(key);
    const tmp = join(this.tmpDir, randomUUID());
    const fh = await open(tmp, "wx", 0o600);
    let size = 0;
    let ok = false;
    const reader = body.getReader();
    const onAbort = () => reader.cancel(opts.signal?.reason).catch(() => {});
    opts.signal?.addEventListener("abort", onAbort, { once: true });
    try {
      opts.signal?.throwIfAborted();
      for (;;) {
        const { done, value } = await reader.read();
        if (done) break;
        opts.signal?.throwIfAborted();
        // Chunks from the encryptor are whole segments (~1 MiB), so writes are already batched.
        let off = 0;
        while (off < value.byteLength) {
          const { bytesWritten } = await fh.write(value, off, value.byteLength - off);
          off += bytesWritten;
        }
        size += value.byteLength;
      }
      opts.signal?.throwIfAborted();
      await fh.sync();
      await fh.close();
      await renameIntoPlace(tmp, target);
      ok = true;
      return { size };
    } finally {
      opts.signal?.removeEventListener("abort", onAbort);
      if (!ok) {
        reader.cancel().catch(() => {});
        await fh.close().catch(() => {});
        await rm(tmp, { force: true });
      }
    }
  }

  async get(
    key: string,
    opts: { range?: ByteRange; signal?: AbortSignal; chunkSize?: number } = {},
  ): Promise<ReadableStream<Uint8Array> | null> {
    const path = this.pathOf(key);
    const s = await stat(path).catch(() => null);
    if (!s?.isFile()) return null;
    const file = Bun.file(path);
    const start = opts.range?.start ?? 0;
    const end = Math.min(opts.range?.end ?? s.size - 1, s.size - 1);
    const chunkSize = opts.chunkSize ?? 1024 * 1024;
    // Positional reads of exactly chunkSize bytes (Bun.file's stream handed out small chunks that
    // then had to be copied together: a third of a range request's CPU). No file handle is held
    // between reads, so a stream that is dropped unread leaks nothing. Objects are written once
    // under their key (replaced only by rename), so the reads see one version.
    async function* read() {
      for (let pos = start; pos <= end; ) {
        const want = Math.min(chunkSize, end - pos + 1);
        const chunk = await file.slice(pos, pos + want).bytes();
        if (chunk.byteLength === 0) throw new Error(`object ${key} is shorter than expected`);
        pos += chunk.byteLength;
        yield chunk;
      }
    }
    return iteratorToStream(read());
  }

  async stat(key: string): Promise<{ size: number } | null> {
    const s = await stat(this.pathOf(key)).catch(() => null);
    return s?.isFile() ? { size: s.size } : null;
  }

  async delete(key: string): Promise<void> {
    await rm(this.pathOf(key), { force: true });
  }

  /**
   * Walks only the deepest directory the prefix names in full (`t/<tenant>/` → that tenant's
   * directory; `t/ab` → `t/`), then filters by the whole prefix, which keeps S3's string-prefix
   * meaning. A missing directory lists nothing; any other read error is thrown, never taken for
   * "no objects" (a forced tenant delete relies on this listing).
   */
  async *list(prefix: string): AsyncIterable<string> {
    const dir = prefix.slice(0, prefix.lastIndexOf("/") + 1);
    const base = dir ? this.pathOf(dir.slice(0, -1)) : this.root;
    let entries: Dirent[];
    try {
      entries = await readdir(base, { recursive: true, withFileTypes: true });
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      if (code === "ENOENT" || code === "ENOTDIR") return;
      throw err;
    }
    for (const e of entries) {
      if (!e.isFile()) continue;
      const rel = relative(this.root, join(e.parentPath, e.name)).split(sep).join("/");
      if (rel.startsWith(".tmp/") || rel.startsWith(".parts/")) continue;
      if (rel.startsWith(prefix)) yield rel;
    }
  }

  async ping(): Promise<void> {
    await stat(this.root);
  }
}

/**
 * Renames a finished file to its key's path, creating the key's directories only when the rename
 * finds them missing: after a tenant's first uploads they exist, and a recursive mkdir before
 * every rename was a few syscalls of every small upload.
 */
async function renameIntoPlace(from: string, to: string): Promise<void> {
  try {
    await rename(from, to);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== "ENOENT") throw err;
    await mkdir(dirname(to), { recursive: true });
    await rename(from, to);
  }
}
