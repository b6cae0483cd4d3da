import { Database } from "bun:sqlite";
import { afterAll, expect, test } from "bun:test";
import { cpSync, existsSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { tempDir } from "../support/harness";
import { api, download, pngBytes, upload } from "../support/ops-client";
import { BUN, runCommand, spawnServer } from "../support/spawn-server";

const MAIN = join(import.meta.dir, "../../src/main.ts");
const ADMIN = "sk_admin_backup_test_0123456789";
const root = tempDir();
afterAll(() => rmSync(root, { recursive: true, force: true }));
const dirA = join(root, "a");
const dirB = join(root, "b");
const bk = join(root, "backup");

const cli = (args: string[], dataDir = dirA) =>
  runCommand([BUN, MAIN, ...args], { DATA_DIR: dataDir, ADMIN_API_KEY: ADMIN });

const usage = (dir: string) => {
  const db = new Database(join(dir, "storage-brain.db"), { readonly: true });
  try {
    return db
      .query(
        `SELECT t.id, t.used_bytes AS used, t.reserved_bytes AS reserved,
           (SELECT coalesce(sum(size_bytes), 0) FROM files f WHERE f.tenant_id = t.id AND f.processing_status = 'completed' AND f.deleted_at IS NULL) AS completedBytes,
           (SELECT coalesce(sum(reserved_bytes), 0) FROM files f WHERE f.tenant_id = t.id) AS reservedRows
         FROM tenants t ORDER BY t.id`,
      )
      .all() as { id: string; used: number; reserved: number; completedBytes: number; reservedRows: number }[];
  } finally {
    db.close();
  }
};

test("against a running server: backup while 8 clients upload; restored, a new server serves every file completed before it", async () => {
  const a = await spawnServer([BUN, MAIN, "serve"], { env: { DATA_DIR: dirA, ADMIN_API_KEY: ADMIN } });
  const all = new Map<string, { key: string; bytes: Uint8Array; doneAt: number }>();
  let tenants: { id: string; apiKey: string }[] = [];
  try {
    tenants = await Promise.all(
      ["alpha", "beta"].map(async (name) => (await api(a.url, "POST", "/api/v1/admin/tenants", ADMIN, { name })).body),
    );
    for (let i = 0; i < 12; i++) {
      const t = tenants[i % 2]!;
      const bytes = pngBytes(i === 0 ? 2_500_000 : 5000 + i * 1234, i);
      all.set(await upload(a.url, t.apiKey, bytes), { key: t.apiKey, bytes, doneAt: Date.now() });
    }
    // 8 clients upload continuously while the backup runs.
    let stop = false;
    let seed = 1000;
    const clients = Array.from({ length: 8 }, async (_, c) => {
      const t = tenants[c % 2]!;
      while (!stop) {
        const bytes = pngBytes(20_000 + ((seed * 7919) % 400_000), seed++);
        const id = await upload(a.url, t.apiKey, bytes);
        all.set(id, { key: t.apiKey, bytes, doneAt: Date.now() });
      }
    });
    await Bun.sleep(300);
    const backupStarted = Date.now();
    const b = await cli(["backup", bk]);
    stop = true;
    await Promise.all(clients);
    expect(b.code).toBe(0);
    expect(b.stdout).toContain("backup complete");
    expect(b.stdout).toContain("The master key is NOT in this backup");
    const before = [...all].filter(([, f]) => f.doneAt < backupStarted);
    expect(all.size).toBeGreaterThan(before.length); // uploads did complete during the backup

    const manifest = JSON.parse(readFileSync(join(bk, "manifest.json"), "utf8"));
    expect(manifest.counts.missingObjects).toBe(0);
    expect(manifest.entries.length).toBe(manifest.counts.objects + 1);
    expect(manifest.entries.every((e: { sha256: string }) => /^[0-9a-f]{64}$/.test(e.sha256))).toBe(true);

    // A damaged backup is refused before anything is written.
    const bad = join(root, "bad-backup");
    cpSync(bk, bad, { recursive: true });
    const victim = join(bad, manifest.entries[1].path);
    const buf = readFileSync(victim);
    buf[100] = buf[100]! ^ 0xff;
    writeFileSync(victim, buf);
    const refused = await cli(["restore", bad, "--data-dir", join(root, "c")]);
    expect(refused.code).toBe(1);
    expect(refused.stderr).toContain("fail their checksum");
    expect(existsSync(join(root, "c"))).toBe(false);

    // Restore into a new data dir; the master key is not touched silently.
    const r = await cli(["restore", bk, "--data-dir", dirB]);
    expect(r.code).toBe(0);
    expect(r.stdout).toContain("The master key was NOT restored");
    expect(r.stdout).toContain(manifest.masterKeyIds[0]);
    expect(existsSync(join(dirB, "master.key"))).toBe(false);
    const again = await cli(["restore", bk, "--data-dir", dirB]);
    expect(again.code).toBe(1);
    expect(again.stderr).toContain("not empty");
    cpSync(join(dirA, "master.key"), join(dirB, "master.key")); // what the operator is told to do

    // Quota totals of the snapshot are consistent: used = completed bytes, reserved = open uploads.
    for (const u of usage(dirB)) {
      expect(u.used).toBe(u.completedBytes);
      expect(u.reserved).toBe(u.reservedRows);
    }
    const s = await spawnServer([BUN, MAIN, "serve"], { env: { DATA_DIR: dirB, ADMIN_API_KEY: ADMIN } });
    try {
      for (const [id, f] of before) expect(await download(s.url, f.key, id)).toEqual(f.bytes);
      // Every file the snapshot holds as completed is served with its bytes (some finished mid-backup).
      const restoredDb = new Database(join(dirB, "storage-brain.db"), { readonly: true });
      const completed = restoredDb.query("SELECT id FROM files WHERE processing_status = 'completed'").all() as {
        id: string;
      }[];
      restoredDb.close();
      expect(completed.length).toBeGreaterThanOrEqual(before.length);
      for (const { id } of completed) expect(await download(s.url, all.get(id)!.key, id)).toEqual(all.get(id)!.bytes);
      for (const t of tenants) {
        const q = (await api(s.url, "GET", `/api/v1/admin/tenants/${t.id}/quota`, ADMIN)).body;
        expect(q.usedBytes).toBe(usage(dirB).find((u) => u.id === t.id)!.completedBytes);
      }
      const audit = (await api(s.url, "GET", "/api/v1/admin/audit?action=backup.restore", ADMIN)).body.entries;
      expect(audit).toHaveLength(1);
    } finally {
      await s.stop();
    }
  } finally {
    await a.stop();
  }

  // --include-master-key on both sides carries the key; restore then needs nothing else.
  const bk2 = join(root, "backup-with-key");
  expect((await cli(["backup", bk2, "--include-master-key"])).code).toBe(0);
  const d = join(root, "d");
  const r2 = await cli(["restore", bk2, "--data-dir", d, "--include-master-key"]);
  expect(r2.code).toBe(0);
  expect(readFileSync(join(d, "master.key"), "utf8")).toBe(readFileSync(join(dirA, "master.key"), "utf8"));
  expect(readdirSync(d).sort()).toEqual(["master.key", "objects", "storage-brain.db"]);
  expect((await cli(["restore", bk, "--data-dir", join(root, "e"), "--include-master-key"])).code).toBe(1);
}, 120_000);
