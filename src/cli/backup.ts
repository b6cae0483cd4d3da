import { Database } from "bun:sqlite";
import { chmodSync, existsSync, mkdirSync, readdirSync, readFileSync, renameSync, writeFileSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { schemaVersion } from "../db/migrate";
import type { AuditService } from "../domain/audit/audit.service";
import type { Runtime } from "../runtime";
import { keyFiles } from "../storage/keyring";
import { VERSION } from "../version";
import { createProgress } from "./progress";

export const MANIFEST = "manifest.json";
export const DB_FILE = "storage-brain.db";

/** What `backup` writes last (its presence marks a complete backup) and `restore` checks first. */
export interface BackupManifest {
  format: 1;
  version: string;
  schemaVersion: number;
  createdAt: string;
  backend: string;
  /** Master key ids the snapshot's rows are wrapped by: the restored data dir needs these keys. */
  masterKeyIds: string[];
  includesMasterKey: boolean;
  counts: { tenants: number; files: number; objects: number; objectBytes: number; missingObjects: number };
  /** Every file of the backup (paths relative to it) with its size and SHA-256. */
  entries: { path: string; size: number; sha256: string }[];
  /** Objects the snapshot references that were gone when copied (deleted right after the snapshot). */
  missing: string[];
  seconds: number;
}

/**
 * `storage-brain backup <dir>`: an online, consistent backup while the server runs.
 *
 * 1. The database: `VACUUM INTO` a new file — SQLite copies one read transaction's view, so the
 *    snapshot is consistent even while the server writes (WAL readers never block the writer).
 * 2. Objects (local backend): exactly those the snapshot references (completed, not purged),
 *    read through the backend and hashed on the way. Objects written after the snapshot are not
 *    referenced by it and not copied; objects are immutable per key, so a copy taken a moment
 *    after the snapshot is the same bytes. With S3 only the database is backed up (the bucket's
 *    versioning or replication covers the objects: README, "Backup and restore").
 * 3. The manifest (version, time, counts, SHA-256 of every file), written last.
 *
 * The master key is not copied unless `includeMasterKey`: a backup holding both the data and its
 * key is one leak away from disclosure.
 */
export async function backup(
  rt: Runtime,
  audit: AuditService,
  opts: { dir: string; includeMasterKey: boolean; out?: (l: string) => void },
): Promise<BackupManifest> {
  const out = opts.out ?? ((l: string) => console.log(l));
  const dir = resolve(opts.dir);
  if (existsSync(dir) && readdirSync(dir).length > 0)
    throw new Error(`${dir} is not empty; back up into a new directory`);
  if (rt.config.databasePath === ":memory:") throw new Error("an in-memory database cannot be backed up");
  if (!rt.sqlite)
    throw new Error("backup copies the SQLite database; with PostgreSQL, back up the database with pg_dump instead");
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  const started = performance.now();
  const createdAt = new Date(rt.clock.now()).toISOString();

  const dbPath = join(dir, DB_FILE);
  // On a read-only connection of its own: VACUUM INTO can't run inside a transaction, and the
  // runtime's connection may have its turn's commit group open (src/db/sqlite-commit-groups.ts).
  const source = new Database(rt.config.databasePath, { readonly: true });
  try {
    source.query("VACUUM INTO ?").run(dbPath);
  } finally {
    source.close();
  }
  chmodSync(dbPath, 0o600);
  const snap = new Database(dbPath, { readonly: true });
  let refs: { key: string }[];
  let keyIds: string[];
  let tenants: number;
  let files: number;
  let version: number;
  try {
    refs = snap
      .query(
        "SELECT storage_key AS key FROM files WHERE processing_status = 'completed' AND purged_at IS NULL ORDER BY storage_key",
      )
      .all() as { key: string }[];
    keyIds = (
      snap.query("SELECT DISTINCT key_id AS k FROM files WHERE wrapped_key IS NOT NULL").all() as { k: string }[]
    )
      .map((r) => r.k)
      .filter(Boolean);
    tenants = (snap.query("SELECT count(*) AS n FROM tenants").get() as { n: number }).n;
    files = (snap.query("SELECT count(*) AS n FROM files").get() as { n: number }).n;
    version = schemaVersion(snap);
  } finally {
    snap.close();
  }
  const entries: BackupManifest["entries"] = [await hashFile(dbPath, DB_FILE)];
  out(`database snapshot: ${files} files, ${tenants} tenants, schema v${version}`);

  const missing: string[] = [];
  let objectBytes = 0;
  const local = rt.objects.backend.name === "local";
  if (local) {
    const progress = createProgress({
      label: "objects copied",
      totalItems: refs.length,
      write: (s) => out(s.trimEnd()),
    });
    for (const { key } of refs) {
      const rel = `objects/${key}`;
      const entry = await copyObject(rt, key, join(dir, rel), rel);
      if (!entry) missing.push(key);
      else {
        entries.push(entry);
        objectBytes += entry.size;
      }
      progress.add(1, entry?.size ?? 0);
    }
    progress.done();
    if (missing.length)
      out(`warning: ${missing.length} object(s) referenced by the snapshot were deleted before they could be copied`);
  } else {
    out(
      `backend ${rt.objects.backend.name}: objects are not copied; protect the bucket with versioning or replication (README, "Backup and restore")`,
    );
  }

  if (opts.includeMasterKey) {
    const src = keyFiles(rt.config.DATA_DIR).primary;
    const raw = rt.config.MASTER_KEY ? `${rt.config.MASTER_KEY}\n` : readFileSync(src, "utf8");
    writeFileSync(join(dir, "master.key"), raw, { mode: 0o600, flag: "wx" });
    entries.push(await hashFile(join(dir, "master.key"), "master.key"));
  }

  const manifest: BackupManifest = {
    format: 1,
    version: VERSION,
    schemaVersion: version,
    createdAt,
    backend: rt.objects.backend.name,
    masterKeyIds: keyIds,
    includesMasterKey: opts.includeMasterKey,
    counts: {
      tenants,
      files,
      objects: entries.length - 1 - (opts.includeMasterKey ? 1 : 0),
      objectBytes,
      missingObjects: missing.length,
    },
    entries,
    missing,
    seconds: (performance.now() - started) / 1000,
  };
  const tmp = join(dir, `${MANIFEST}.tmp`);
  writeFileSync(tmp, JSON.stringify(manifest, null, 1), { mode: 0o600 });
  renameSync(tmp, join(dir, MANIFEST));
  await audit.record({
    actor: { type: "cli" },
    action: "backup.create",
    details: {
      dir,
      files,
      objects: manifest.counts.objects,
      bytes: objectBytes,
      includesMasterKey: opts.includeMasterKey,
    },
  });
  const mibs = objectBytes / 1048576 / Math.max(manifest.seconds, 1e-6);
  out(
    `backup complete: ${dir} — ${manifest.counts.objects} objects, ${(objectBytes / 1048576).toFixed(1)} MiB in ${manifest.seconds.toFixed(1)} s (${mibs.toFixed(1)} MiB/s)`,
  );
  if (!opts.includeMasterKey) {
    const line = "=".repeat(72);
    out(
      `${line}\n  The master key is NOT in this backup. Without it the objects cannot be decrypted.\n` +
        `  Keep ${rt.config.MASTER_KEY ? "your MASTER_KEY value" : keyFiles(rt.config.DATA_DIR).primary} (id ${rt.masterKey.active.id}) safe, separately.\n${line}`,
    );
  }
  return manifest;
}

async function copyObject(rt: Runtime, key: string, dest: string, rel: string) {
  const stream = await rt.objects.backend.get(key);
  if (!stream) return null;
  mkdirSync(dirname(dest), { recursive: true });
  const sink = Bun.file(dest).writer({ highWaterMark: 1024 * 1024 });
  const hasher = new Bun.CryptoHasher("sha256");
  let size = 0;
  for await (const chunk of stream) {
    hasher.update(chunk);
    sink.write(chunk);
    size += chunk.byteLength;
  }
  await sink.end();
  return { path: rel, size, sha256: hasher.digest("hex") };
}

export async function hashFile(path: string, rel: string) {
  const hasher = new Bun.CryptoHasher("sha256");
  let size = 0;
  for await (const chunk of Bun.file(path).stream()) {
    hasher.update(chunk);
    size += chunk.byteLength;
  }
  return { path: rel, size, sha256: hasher.digest("hex") };
}
