import { Database } from "bun:sqlite";
import { chmodSync, copyFileSync, existsSync, mkdirSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { MasterKey } from "../storage/crypto";
import { type BackupManifest, DB_FILE, hashFile, MANIFEST } from "./backup";
import { createProgress } from "./progress";

export class RestoreError extends Error {
  override name = "RestoreError";
}

/**
 * `storage-brain restore <dir> --data-dir <new> [--force] [--include-master-key]`.
 *
 * Verifies every file of the backup against the manifest's SHA-256 *before* writing anything,
 * refuses a non-empty target unless `force` (which replaces its database and objects, and
 * nothing else), copies the database and objects into the layout a server expects
 * (`<data-dir>/storage-brain.db`, `<data-dir>/objects/...`), and never writes a master key
 * unless `includeMasterKey` — it says loudly which key the data needs instead. The server
 * started on the restored dir applies any newer migrations itself.
 */
export async function restore(opts: {
  from: string;
  dataDir: string;
  force: boolean;
  includeMasterKey: boolean;
  out?: (l: string) => void;
}): Promise<{ files: number; bytes: number; seconds: number }> {
  const out = opts.out ?? ((l: string) => console.log(l));
  const from = resolve(opts.from);
  const target = resolve(opts.dataDir);
  const manifestPath = join(from, MANIFEST);
  if (!existsSync(manifestPath)) throw new RestoreError(`${manifestPath} not found: not a (complete) backup`);
  const manifest = JSON.parse(readFileSync(manifestPath, "utf8")) as BackupManifest;
  if (manifest.format !== 1) throw new RestoreError(`unsupported backup format ${manifest.format}`);
  if (opts.includeMasterKey && !manifest.includesMasterKey)
    throw new RestoreError("--include-master-key: this backup holds no master key (back up with --include-master-key)");

  const started = performance.now();
  const totalBytes = manifest.entries.reduce((n, e) => n + e.size, 0);
  // 1) Verify everything first: a damaged backup must not half-replace anything.
  const verify = createProgress({
    label: "verified",
    totalItems: manifest.entries.length,
    totalBytes,
    write: (s) => out(s.trimEnd()),
  });
  const bad: string[] = [];
  for (const e of manifest.entries) {
    const path = join(from, e.path);
    if (!isInside(from, path)) throw new RestoreError(`manifest path escapes the backup: ${e.path}`);
    const got = existsSync(path) ? await hashFile(path, e.path) : null;
    if (!got || got.size !== e.size || got.sha256 !== e.sha256) bad.push(e.path);
    verify.add(1, e.size);
  }
  verify.done();
  if (bad.length)
    throw new RestoreError(
      `${bad.length} file(s) of the backup are missing or fail their checksum (e.g. ${bad.slice(0, 3).join(", ")}); nothing was restored`,
    );

  // 2) The target.
  if (existsSync(target) && readdirSync(target).length > 0) {
    if (!opts.force) throw new RestoreError(`${target} is not empty; pass --force to replace its database and objects`);
    for (const name of [DB_FILE, `${DB_FILE}-wal`, `${DB_FILE}-shm`, "objects"])
      rmSync(join(target, name), { recursive: true, force: true });
  }
  mkdirSync(target, { recursive: true, mode: 0o700 });

  // 3) Copy (objects first, the database last: a database present means the copy finished).
  const copy = createProgress({
    label: "restored",
    totalItems: manifest.entries.length,
    totalBytes,
    write: (s) => out(s.trimEnd()),
  });
  const ordered = [
    ...manifest.entries.filter((e) => e.path !== DB_FILE),
    ...manifest.entries.filter((e) => e.path === DB_FILE),
  ];
  for (const e of ordered) {
    if (e.path === "master.key" && !opts.includeMasterKey) {
      copy.add(1, e.size);
      continue;
    }
    const dest = join(target, e.path);
    if (e.path === "master.key" && existsSync(dest)) {
      const same = readFileSync(dest, "utf8").trim() === readFileSync(join(from, e.path), "utf8").trim();
      if (!same) throw new RestoreError(`${dest} exists and holds another key; move it away first`);
      copy.add(1, e.size);
      continue;
    }
    mkdirSync(dirname(dest), { recursive: true });
    copyFileSync(join(from, e.path), dest);
    chmodSync(dest, 0o600);
    copy.add(1, e.size);
  }
  const done = copy.done();
  recordRestore(join(target, DB_FILE), from);

  const seconds = (performance.now() - started) / 1000;
  out(
    `restore complete: ${target} — ${manifest.counts.objects} objects, ${(totalBytes / 1048576).toFixed(1)} MiB in ${seconds.toFixed(1)} s (${(totalBytes / 1048576 / Math.max(seconds, 1e-6)).toFixed(1)} MiB/s), backup of ${manifest.createdAt}`,
  );
  if (manifest.backend !== "local")
    out(
      `backend ${manifest.backend}: objects were not in the backup; restore them from the bucket's versions or replica`,
    );
  await reportMasterKey(target, manifest, opts.includeMasterKey, out);
  return { files: done.items, bytes: totalBytes, seconds };
}

/** Says loudly which master key the restored data needs and whether the target has it. */
async function reportMasterKey(target: string, manifest: BackupManifest, included: boolean, out: (l: string) => void) {
  const path = join(target, "master.key");
  const id = existsSync(path)
    ? (await MasterKey.fromRaw(Buffer.from(readFileSync(path, "utf8").trim(), "base64"))).id
    : null;
  {
    const need = manifest.masterKeyIds.join(", ") || "(no files yet)";
    const line = "=".repeat(72);
    if (included) return out(`master.key restored into ${target} (the data needs ${need}).`);
    out(
      `${line}\n  The master key was NOT restored. The restored files need master key ${need}.\n` +
        (id && manifest.masterKeyIds.every((k) => k === id)
          ? `  ${target}/master.key already holds it.\n`
          : `  Copy that master.key into ${target}/master.key (mode 0600), or set MASTER_KEY,\n  before starting the server: without it no file can be read.\n`) +
        line,
    );
  }
}

/** An audit row in the restored database (if its schema has the table). */
function recordRestore(dbPath: string, from: string) {
  const db = new Database(dbPath);
  try {
    const has = db.query("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'audit_log'").get();
    if (has)
      db.query(
        "INSERT INTO audit_log (id, created_at, actor_type, actor_id, action, target, tenant_id, address, details) VALUES (?, ?, 'cli', NULL, 'backup.restore', NULL, NULL, NULL, ?)",
      ).run(Bun.randomUUIDv7(), Date.now(), JSON.stringify({ from }));
  } finally {
    db.close();
  }
}

function isInside(root: string, path: string): boolean {
  const r = resolve(path);
  return r === root || r.startsWith(`${root}/`);
}
