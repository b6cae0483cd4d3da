import type { StorageBackend } from "../storage/backend";
import { createProgress } from "./progress";

/** Every object of a deployment lives under this prefix (storage/backend.ts, objectKeyFor). */
const OBJECTS_PREFIX = "t/";
/**
 * Staging blobs of unfinished resumable (tus) uploads: `t/<tenant>/tus/<fileId>/tail-<n>`. They
 * are not copied: such an upload also holds an assembly (a local staging file or an S3 multipart
 * upload) whose id its database row records, and an assembly cannot move to another backend, so
 * the tail alone could never be resumed there (docs/operations.md, "Moving objects").
 */
const TUS_STAGING = /^t\/[^/]+\/tus\//;
/** Failures printed one by one; beyond this only counted (the rerun prints them again). */
const MAX_LISTED_FAILURES = 50;

export interface CopySummary {
  /** Objects found under t/ in the source (tus staging blobs excluded). */
  objects: number;
  copied: number;
  bytes: number;
  /** Already in the target with the same size (a previous run's work). */
  skipped: number;
  skippedBytes: number;
  failed: number;
  /** Listed, then gone from the source before they were read (purged while a server runs). */
  gone: number;
  /** tus staging blobs left out. */
  staging: number;
  interrupted: boolean;
  seconds: number;
}

/**
 * `storage-brain objects copy`: copies every stored object from one backend to another under the
 * same key, as the bytes are stored (objects are encrypted with per-file keys that the database
 * holds, so nothing is decrypted or re-encrypted and the master key is not needed).
 *
 * Up to `concurrency` objects stream at once (source `get` piped into target `put`; memory per
 * object is the backends' buffers, never the object). An object already in the target with the
 * source's size is skipped, so a rerun after an interruption or failure continues where the last
 * one stopped; puts are atomic in both backends, so an interrupted put leaves nothing under the
 * key. Every copy is checked: bytes written = source size = size the target reports afterwards.
 * The database is not read: what is copied is what the source holds.
 */
export async function copyObjects(opts: {
  from: StorageBackend;
  to: StorageBackend;
  concurrency: number;
  signal?: AbortSignal;
  out?: (line: string) => void;
  err?: (line: string) => void;
}): Promise<CopySummary> {
  const out = opts.out ?? ((l: string) => console.log(l));
  const err = opts.err ?? ((l: string) => console.error(l));
  const started = performance.now();
  let total = 0;
  for await (const key of opts.from.list(OBJECTS_PREFIX)) if (!TUS_STAGING.test(key)) total++;
  out(`${total} objects to copy`);
  const s: CopySummary = {
    objects: 0,
    copied: 0,
    bytes: 0,
    skipped: 0,
    skippedBytes: 0,
    failed: 0,
    gone: 0,
    staging: 0,
    interrupted: false,
    seconds: 0,
  };
  const progress = createProgress({
    label: "objects copy",
    unit: "objects",
    totalItems: total,
    showBytes: true,
    write: (l) => out(l.trimEnd()),
  });

  /** Copies one object unless the target has it; returns what happened and the bytes written. */
  const copyKey = async (key: string): Promise<["copied" | "skipped" | "gone", number]> => {
    const source = await opts.from.stat(key);
    if (!source) return ["gone", 0];
    if ((await opts.to.stat(key))?.size === source.size) return ["skipped", source.size];
    const body = await opts.from.get(key, { signal: opts.signal });
    if (!body) return ["gone", 0];
    const { size } = await opts.to.put(key, body, { signal: opts.signal });
    const stored = await opts.to.stat(key);
    if (size !== source.size || stored?.size !== source.size) {
      await opts.to.delete(key).catch(() => {});
      throw new Error(
        `size mismatch: source ${source.size}, written ${size}, target reports ${stored?.size ?? "none"}`,
      );
    }
    return ["copied", size];
  };
  const copyOne = async (key: string) => {
    try {
      const [outcome, size] = await copyKey(key);
      if (outcome === "gone") s.gone++;
      else if (outcome === "skipped") {
        s.skipped++;
        s.skippedBytes += size;
      } else {
        s.copied++;
        s.bytes += size;
      }
      progress.add(1, outcome === "copied" ? size : 0);
    } catch (e) {
      if (opts.signal?.aborted) return;
      s.failed++;
      if (s.failed <= MAX_LISTED_FAILURES) err(`failed: ${key}: ${(e as Error).message}`);
      progress.add(1);
    }
  };

  const running = new Set<Promise<void>>();
  for await (const key of opts.from.list(OBJECTS_PREFIX)) {
    if (opts.signal?.aborted) break;
    if (TUS_STAGING.test(key)) {
      s.staging++;
      continue;
    }
    s.objects++;
    const p: Promise<void> = copyOne(key).finally(() => running.delete(p));
    running.add(p);
    if (running.size >= opts.concurrency) await Promise.race(running);
  }
  await Promise.all(running);
  progress.done();
  s.interrupted = opts.signal?.aborted ?? false;
  s.seconds = (performance.now() - started) / 1000;
  return s;
}

/** The one-line result, printed last (and the rerun hint when something is left). */
export function summaryLines(s: CopySummary): string[] {
  const mib = (b: number) => (b / 1048576).toFixed(1);
  const lines = [
    `objects copy ${s.interrupted ? "interrupted" : s.failed ? "finished with failures" : "complete"}: ` +
      `${s.objects} objects — ${s.copied} copied (${mib(s.bytes)} MiB), ` +
      `${s.skipped} skipped (already there, ${mib(s.skippedBytes)} MiB), ${s.failed} failed, ` +
      `${s.gone} gone from the source — in ${s.seconds.toFixed(1)} s (${mib(s.bytes / Math.max(s.seconds, 1e-6))} MiB/s)`,
  ];
  if (s.staging)
    lines.push(
      `${s.staging} staging blob(s) of unfinished resumable uploads not copied: those uploads cannot continue on another backend`,
    );
  if (s.failed || s.interrupted)
    lines.push("run the same command again to copy what is left (copied objects are skipped)");
  return lines;
}
