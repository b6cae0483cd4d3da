/**
 * Server CPU per unit of work, for judging a hot-path change on a noisy machine:
 *
 *   bun bench/profile.ts [--server <binary> ...] [--cpu-prof] [--scenarios get,small,multipart,range,download]
 *
 * For each build (default: `bun src/main.ts serve`; every `--server` given is measured in turn,
 * interleaved, `--rounds N` times), starts the server on a seeded data dir and measures the
 * server process's CPU time (/proc, user + system) per request: `get` GET /files/:id (wrk, 8
 * connections), `small` 4 KiB uploads (request + PUT, 16 clients), `multipart` the same by the storage
 * module's single multipart POST, `range` random 1 MiB ranges of
 * a 64 MiB file (8 clients), `download` the whole 64 MiB file (CPU ms per GiB). CPU per unit of
 * work moves far less than throughput when other processes share the cores. `upload8`: 8
 * concurrent 64 MiB uploads (CPU ms per GiB, peak RSS); `upload1` and `tus`: one 64 MiB upload at a
 * time, two-step or tus in one PATCH (CPU ms per GiB, MB/s); peak RSS is reported for the big scenarios. `--cpu-prof` runs the
 * source server under `bun --cpu-prof-md` and keeps the profile (path printed at the end).
 * `--pg`: the metadata on a fresh PostgreSQL database (test/support/pg.ts, dropped at the end)
 * instead of SQLite; the CPU of its backends per unit of work is reported next to the server's.
 */
import { randomBytes } from "node:crypto";
import { mkdirSync, mkdtempSync, readdirSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createTestPgDatabase, type TestPgDatabase } from "../test/support/pg";
import { drain, loop, makePngFile, pngBytes, tusUploadOnePatch, upload, uploadMultipart } from "./lib/client";
import { runLoad } from "./lib/load";
import { pgBackendsCpu } from "./lib/pg-cpu";
import { seedPgFiles } from "./lib/pg-seed";
import { BUN, cpuMsOf, ROOT, sampleRss, startServer } from "./lib/proc";
import { seedFiles } from "./lib/seed";
import { median, round } from "./lib/stats";

const args = process.argv.slice(2);
const servers = args.flatMap((a, i) => (args[i - 1] === "--server" ? [a] : []));
const cpuProf = args.includes("--cpu-prof");
const opt = (name: string) => (args.includes(name) ? args[args.indexOf(name) + 1] : undefined);
const rounds = Number(opt("--rounds")) || 1;
const onPg = args.includes("--pg");
const scenarios = (opt("--scenarios") ?? "get,small,range,download").split(",");
const log = (m: string) => process.stderr.write(`[profile] ${m}\n`);
const tmp = mkdtempSync(join(tmpdir(), "sb-profile-"));
const adminKey = `sk_admin_prof${crypto.randomUUID().replaceAll("-", "")}`;
const BIG = 64 * 1024 * 1024;

/** Where a build keeps its metadata: `dataDir`'s SQLite file, or (`--pg`) a PostgreSQL database and its master key. */
interface Store {
  dataDir: string;
  pg?: { db: TestPgDatabase; masterKey: string };
}

async function measureBuild(name: string, cmd: string[], store: Store, ids: string[], apiKey: string) {
  const pgEnv: Record<string, string> = store.pg
    ? { DATABASE_URL: store.pg.db.url, MASTER_KEY: store.pg.masterKey }
    : {};
  const server = await startServer(name, cmd, {
    cwd: tmp,
    env: { DATA_DIR: store.dataDir, ADMIN_API_KEY: adminKey, ...pgEnv },
    logFile: join(tmp, `${name.replaceAll("/", "_")}.log`),
  });
  const pid = server.proc.pid;
  const api = { base: server.url, apiKey };
  const out: Record<string, number> = {};
  const pgCpu = async () => {
    if (!store.pg) return 0;
    let sum = 0;
    for (const ms of (await pgBackendsCpu(store.pg.db)).values()) sum += ms;
    return sum;
  };
  const perUnit = async (fn: () => Promise<number>) => {
    const rss = sampleRss(pid);
    const c0 = cpuMsOf(pid);
    const pg0 = await pgCpu();
    const t0 = performance.now();
    const units = await fn();
    const rate = units / ((performance.now() - t0) / 1000);
    const cpu = (cpuMsOf(pid) - c0) / units;
    // Backends that exited meanwhile are missed; the pool keeps its connections, so few if any.
    const pgCpuPerUnit = ((await pgCpu()) - pg0) / units;
    return { cpu, pgCpu: pgCpuPerUnit, rate, peakRss: Math.round(rss.stop()) };
  };
  try {
    if (scenarios.includes("get")) {
      const paths = ids.map((id) => `/api/v1/files/${id}`);
      const base = { baseUrl: server.url, paths, apiKey, tmpDir: tmp, log };
      await runLoad({ ...base, connections: 4, seconds: 1 });
      const r = await perUnit(async () => (await runLoad({ ...base, connections: 8, seconds: 4 })).requests);
      out["get CPU-ms/req"] = round(r.cpu, 3);
      if (store.pg) out["get PG-CPU-ms/req"] = round(r.pgCpu, 3);
      out["get req/s"] = Math.round(r.rate);
    }
    if (scenarios.includes("small")) {
      const body = pngBytes(4096);
      await loop(16, { perWorker: 5 }, (w, i) => upload(api, body, 4096, `w-${w}-${i}.png`).then(() => {}));
      const r = await perUnit(async () => {
        let n = 0;
        await loop(16, { perWorker: 60 }, async (w, i) => {
          await upload(api, body, 4096, `s-${w}-${i}.png`);
          n++;
        });
        return n;
      });
      out["small CPU-ms/upload"] = round(r.cpu, 3);
      if (store.pg) out["small PG-CPU-ms/upload"] = round(r.pgCpu, 3);
      out["small uploads/s"] = Math.round(r.rate);
    }
    if (scenarios.includes("multipart")) {
      const body = pngBytes(4096);
      await loop(16, { perWorker: 5 }, (w, i) => uploadMultipart(api, body, `mw-${w}-${i}.png`));
      const r = await perUnit(async () => {
        let n = 0;
        await loop(16, { perWorker: 60 }, async (w, i) => {
          await uploadMultipart(api, body, `m-${w}-${i}.png`);
          n++;
        });
        return n;
      });
      out["multipart CPU-ms/upload"] = round(r.cpu, 3);
      if (store.pg) out["multipart PG-CPU-ms/upload"] = round(r.pgCpu, 3);
      out["multipart uploads/s"] = Math.round(r.rate);
    }
    const big = join(tmp, "big.png");
    makePngFile(big, BIG);
    if (scenarios.includes("upload8")) {
      const r = await perUnit(async () => {
        await Promise.all(Array.from({ length: 8 }, (_, i) => upload(api, Bun.file(big), BIG, `u8-${i}.png`)));
        return (8 * BIG) / 2 ** 30;
      });
      out["upload8 CPU-ms/GiB"] = Math.round(r.cpu);
      out["upload8 MB/s"] = Math.round((r.rate * 2 ** 30) / 1e6);
      out["upload8 peak RSS MiB"] = r.peakRss;
    }
    // `tus` next to `upload1`: one 64 MiB file at a time, 4 times, in one PATCH (or one PUT).
    for (const mode of ["upload1", "tus"] as const) {
      if (!scenarios.includes(mode)) continue;
      const send = (i: number) =>
        mode === "tus"
          ? tusUploadOnePatch(api, Bun.file(big), `tus-${i}.png`)
          : upload(api, Bun.file(big), BIG, `u1-${i}.png`);
      await send(-1);
      const r = await perUnit(async () => {
        for (let i = 0; i < 4; i++) await send(i);
        return (4 * BIG) / 2 ** 30;
      });
      out[`${mode} CPU-ms/GiB`] = Math.round(r.cpu);
      out[`${mode} MB/s`] = Math.round((r.rate * 2 ** 30) / 1e6);
    }
    if (scenarios.includes("range") || scenarios.includes("download")) {
      const { fileId } = await upload(api, Bun.file(big), BIG, "big.png");
      const url = `${server.url}/api/v1/files/${fileId}/download`;
      const auth = { authorization: `Bearer ${apiKey}` };
      if (scenarios.includes("range")) {
        const MiB = 1024 * 1024;
        const read = () => {
          const start = Math.floor(Math.random() * (BIG - MiB));
          return drain(url, { ...auth, range: `bytes=${start}-${start + MiB - 1}` }).then(() => {});
        };
        await loop(8, { perWorker: 5 }, read);
        const r = await perUnit(async () => {
          await loop(8, { perWorker: 50 }, read);
          return 400;
        });
        out["range CPU-ms/read"] = round(r.cpu, 3);
        out["range reads/s"] = Math.round(r.rate);
        out["range peak RSS MiB"] = r.peakRss;
      }
      if (scenarios.includes("download")) {
        await drain(url, auth);
        const r = await perUnit(async () => {
          for (let i = 0; i < 8; i++) await drain(url, auth);
          return (8 * BIG) / 2 ** 30;
        });
        out["download CPU-ms/GiB"] = Math.round(r.cpu);
        out["download MB/s"] = Math.round((r.rate * 2 ** 30) / 1e6);
        out["download peak RSS MiB"] = r.peakRss;
      }
    }
  } finally {
    await server.stop();
  }
  return out;
}

async function main() {
  const dataDir = join(tmp, "data");
  mkdirSync(dataDir);
  let store: Store = { dataDir };
  let seed: Awaited<ReturnType<typeof seedFiles>>;
  if (onPg) {
    const masterKey = randomBytes(32).toString("base64");
    const db = await createTestPgDatabase();
    store = { dataDir, pg: { db, masterKey } };
    seed = await seedPgFiles(db.url, 20_000, { masterKey, samples: 1000 });
  } else seed = await seedFiles(dataDir, 20_000, { samples: 1000 });
  try {
    await measureAll(store, seed);
  } finally {
    await store.pg?.db.drop();
  }
}

async function measureAll(store: Store, seed: Awaited<ReturnType<typeof seedFiles>>) {
  const builds = servers.length
    ? servers.map((s) => ({ name: s, cmd: [s, "serve"] }))
    : [
        {
          name: "src",
          cmd: cpuProf
            ? [BUN, "--cpu-prof-md", `--cpu-prof-dir=${join(tmp, "profiles")}`, join(ROOT, "src", "main.ts"), "serve"]
            : [BUN, join(ROOT, "src", "main.ts"), "serve"],
        },
      ];
  const results = new Map<string, Record<string, number>[]>();
  // The first measurement of a run came out slower whichever build it was (up to +25 % CPU per
  // small upload: the client's JIT, caches): with more than one build it is taken once more and
  // discarded, so no build pays for going first.
  if (builds.length > 1 && builds[0]) {
    log(`warm-up (discarded): ${builds[0].name}`);
    await measureBuild(builds[0].name, builds[0].cmd, store, seed.sampleIds, seed.apiKey);
  }
  for (let r = 0; r < rounds; r++) {
    const order = r % 2 ? [...builds].reverse() : builds;
    for (const b of order) {
      log(`round ${r + 1}: ${b.name}`);
      const res = await measureBuild(b.name, b.cmd, store, seed.sampleIds, seed.apiKey);
      log(JSON.stringify(res));
      results.set(b.name, [...(results.get(b.name) ?? []), res]);
    }
  }
  for (const [name, rs] of results) {
    const keys = Object.keys(rs[0] ?? {});
    process.stdout.write(`${name}\n`);
    for (const k of keys) process.stdout.write(`  ${k.padEnd(22)} ${median(rs.map((x) => x[k] ?? NaN))}\n`);
  }
  if (cpuProf) log(`profiles: ${readdirSync(join(tmp, "profiles")).map((f) => join(tmp, "profiles", f))}`);
}

try {
  await main();
} finally {
  if (!cpuProf) rmSync(tmp, { recursive: true, force: true });
}
