/**
 * Backup and restore at scale (README, "Backup and restore"): seeds a server with FILES files
 * totalling BYTES through 8 concurrent clients, then times `backup` (while the server runs) and
 * `restore` into a new data dir, and checks a sample of files downloads identically from a
 * server on the restored dir. Prints one JSON line. Uses dist/storage-brain if built, else source.
 *
 *   bun bench/backup-restore.ts                    # 10,000 files, 2 GiB
 *   FILES=1000 BYTES=200000000 bun bench/backup-restore.ts
 */
import { existsSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { api, download, pngBytes, upload } from "../test/support/ops-client";
import { BUN, inheritedEnv, spawnServer } from "../test/support/spawn-server";

const FILES = Number(process.env.FILES ?? 10_000);
const BYTES = Number(process.env.BYTES ?? 2 * 1024 ** 3);
const ADMIN = "sk_admin_bench_backup_0123456789";
const root = mkdtempSync(join(tmpdir(), "sb-bench-backup-"));
const bin = join(import.meta.dir, "../dist/storage-brain");
const cmd = existsSync(bin) ? [bin] : [BUN, join(import.meta.dir, "../src/main.ts")];
const dirA = join(root, "a");
const env = (dir: string) => ({ ...inheritedEnv(), DATA_DIR: dir, ADMIN_API_KEY: ADMIN });

async function cli(args: string[], dir: string) {
  const t0 = performance.now();
  const p = Bun.spawn([...cmd, ...args], { env: env(dir), stdout: "pipe", stderr: "inherit" });
  const out = await new Response(p.stdout).text();
  if ((await p.exited) !== 0) throw new Error(`${args[0]} failed:\n${out}`);
  return { seconds: (performance.now() - t0) / 1000, out };
}

try {
  const a = await spawnServer([...cmd, "serve"], { env: { DATA_DIR: dirA, ADMIN_API_KEY: ADMIN } });
  const t = (await api(a.url, "POST", "/api/v1/admin/tenants", ADMIN, { name: "bench", quotaBytes: BYTES * 2 })).body;
  const avg = Math.floor(BYTES / FILES);
  const sample = new Map<string, Uint8Array>();
  let next = 0;
  const seedStart = performance.now();
  await Promise.all(
    Array.from({ length: 8 }, async () => {
      for (let i = next++; i < FILES; i = next++) {
        // Sizes spread 0.5x-1.5x around the average, same total.
        const size = Math.max(4200, Math.floor(avg * (0.5 + ((i * 7919) % 1000) / 1000)));
        const bytes = pngBytes(size, i);
        const id = await upload(a.url, t.apiKey, bytes);
        if (i % 500 === 0) sample.set(id, bytes);
      }
    }),
  );
  const seedSeconds = (performance.now() - seedStart) / 1000;
  const quota = (await api(a.url, "GET", `/api/v1/admin/tenants/${t.id}/quota`, ADMIN)).body;
  const b = await cli(["backup", join(root, "backup")], dirA);
  await a.stop();
  const r = await cli(["restore", join(root, "backup"), "--data-dir", join(root, "b")], dirA);
  await Bun.write(join(root, "b", "master.key"), Bun.file(join(dirA, "master.key")));
  const s = await spawnServer([...cmd, "serve"], { env: { DATA_DIR: join(root, "b"), ADMIN_API_KEY: ADMIN } });
  let identical = 0;
  for (const [id, bytes] of sample)
    if (Buffer.from((await download(s.url, t.apiKey, id)) ?? []).equals(bytes)) identical++;
  const restoredQuota = (await api(s.url, "GET", `/api/v1/admin/tenants/${t.id}/quota`, ADMIN)).body;
  await s.stop();
  const mib = quota.usedBytes / 1048576;
  console.log(
    JSON.stringify({
      bench: "backup-restore",
      binary: cmd[0] === bin,
      files: FILES,
      mib: Math.round(mib),
      seedSeconds: +seedSeconds.toFixed(1),
      backupSeconds: +b.seconds.toFixed(1),
      backupMiBs: +(mib / b.seconds).toFixed(0),
      backupFilesPerSecond: Math.round(FILES / b.seconds),
      restoreSeconds: +r.seconds.toFixed(1),
      restoreMiBs: +(mib / r.seconds).toFixed(0),
      restoreFilesPerSecond: Math.round(FILES / r.seconds),
      sampleIdentical: `${identical}/${sample.size}`,
      quotaSame: restoredQuota.usedBytes === quota.usedBytes,
    }),
  );
} finally {
  rmSync(root, { recursive: true, force: true });
}
