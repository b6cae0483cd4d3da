/**
 * Storage Brain benchmarks: `bun bench/run.ts [--quick] [--source] [--keep] [--profile] [--no-pg | --pg-only] [--pg-files N]`.
 *
 * Starts the real server (dist/storage-brain if built and not --source, else `bun src/main.ts
 * serve`) on a free port with a temp DATA_DIR, runs the scenarios against it and against bare ceiling servers
 * (bench/ceilings/) in the same run, prints one JSON line per scenario on stdout, then a summary
 * table with each target. Progress goes to stderr. Nothing is asserted: the exit code is 0 unless
 * the bench itself fails. See bench/README.md.
 */
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { makePngFile } from "./lib/client";
import type { Ctx, Row } from "./lib/context";
import { BUN, memOf, ROOT, type Server, startServer } from "./lib/proc";
import { median, round } from "./lib/stats";
import { apiLatencyScenario } from "./scenarios/api-latency";
import { downloadScenario } from "./scenarios/download";
import { postgresScenario } from "./scenarios/postgres";
import { smallFilesScenario } from "./scenarios/small-files";
import { tusUploadScenario } from "./scenarios/tus-upload";
import { BIG, CEILING_BIG_NAME, MID, uploadScenario } from "./scenarios/upload";

const quick = process.argv.includes("--quick");
const profile = process.argv.includes("--profile"); // bun --cpu-prof-md on the real server (implies --source)
const keep = profile || process.argv.includes("--keep");
/** The PostgreSQL scenario (bench/scenarios/postgres.ts) runs last; `--no-pg` skips it, `--pg-only` runs only it. */
const noPg = process.argv.includes("--no-pg");
const pgOnly = process.argv.includes("--pg-only");
const pgFilesArg = process.argv.indexOf("--pg-files");
const pgFiles = pgFilesArg > 0 ? Number(process.argv[pgFilesArg + 1]) : undefined;
const T0 = performance.now();
const log = (m: string) => process.stderr.write(`[bench ${((performance.now() - T0) / 1000).toFixed(1)}s] ${m}\n`);
const emit = (json: Record<string, unknown>) => process.stdout.write(`${JSON.stringify(json)}\n`);

const tmp = mkdtempSync(join(process.env.BENCH_TMP ?? tmpdir(), "storage-brain-bench-"));
const binary = join(ROOT, "dist", "storage-brain");
/** `--server <binary>`: measure that build instead (bench/compare.ts passes each build in turn). */
const serverArg = process.argv.indexOf("--server");
const otherBinary = serverArg > 0 ? process.argv[serverArg + 1] : undefined;
const useBinary = (otherBinary !== undefined || existsSync(binary)) && !process.argv.includes("--source") && !profile;
const serverCmd = otherBinary
  ? [otherBinary, "serve"]
  : useBinary
    ? [binary, "serve"]
    : [BUN, join(ROOT, "src", "main.ts"), "serve"];
const adminKey = `sk_admin_bench${crypto.randomUUID().replaceAll("-", "")}`;
const servers = new Set<Server>();
let logN = 0;

async function startStorageBrain(dataDir: string, name: string, env: Record<string, string> = {}): Promise<Server> {
  // cwd is the temp dir, so no storage-brain.config.ts is picked up: defaults + this env only.
  const cmd =
    profile && serverCmd[0] === BUN
      ? [BUN, "--cpu-prof", "--cpu-prof-md", `--cpu-prof-dir=${join(tmp, "profiles")}`, ...serverCmd.slice(1)]
      : serverCmd;
  const s = await startServer(name, cmd, {
    cwd: tmp,
    env: { DATA_DIR: dataDir, ADMIN_API_KEY: adminKey, ...env },
    logFile: join(tmp, `${name}-${logN++}.log`),
  });
  track(s);
  return s;
}

async function createTenant(server: Server): Promise<{ apiKey: string }> {
  const res = await fetch(`${server.url}/api/v1/admin/tenants`, {
    method: "POST",
    headers: { authorization: `Bearer ${adminKey}`, "content-type": "application/json" },
    body: JSON.stringify({ name: `bench-${crypto.randomUUID()}`, quotaBytes: 2 ** 50 }),
  });
  const tenant = (await res.json()) as { apiKey: string };
  if (res.status !== 201) throw new Error(`create tenant: ${res.status} ${JSON.stringify(tenant)}`);
  return tenant;
}

async function startCeiling(file: string, env: Record<string, string> = {}): Promise<Server> {
  const s = await startServer(file, [BUN, join(import.meta.dir, "ceilings", file)], {
    cwd: tmp,
    env,
    logFile: join(tmp, `${file}-${logN++}.log`),
  });
  track(s);
  return s;
}

function track(s: Server) {
  servers.add(s);
  const stop = s.stop;
  s.stop = async () => {
    servers.delete(s);
    await stop();
  };
}

/** The server's own "listening" startupMs (after module load) from its log file. */
function reportedStartupMs(logFile: string): number {
  return Number(/"msg":"listening".*?"startupMs":(\d+)/.exec(readFileSync(logFile, "utf8"))?.[1] ?? NaN);
}

/** What was measured: commit (and whether the tree was dirty), Bun, CPUs. */
function describeBuild(): string {
  const git = (...args: string[]) =>
    Bun.spawnSync(["git", ...args], { cwd: ROOT })
      .stdout.toString()
      .trim();
  const dirty = git("status", "--porcelain", "--", "src", "migrations", "package.json").length > 0;
  const newestSrc = Math.max(
    ...["src", "migrations"].flatMap((d) =>
      readdirSync(join(ROOT, d), { recursive: true }).map((f) => statSync(join(ROOT, d, String(f))).mtimeMs),
    ),
  );
  const stale =
    useBinary && !otherBinary && statSync(binary).mtimeMs < newestSrc
      ? " — WARNING: dist/storage-brain is older than src/ (rebuild, or pass --source)"
      : "";
  const what = otherBinary ?? (useBinary ? "dist/storage-brain" : "bun src/main.ts");
  return `${what}, commit ${git("rev-parse", "--short", "HEAD") || "?"}${dirty ? " + uncommitted changes" : ""}, bun ${Bun.version}, ${navigator.hardwareConcurrency} CPUs${stale}`;
}

/** Scenarios 1–4 on SQLite (upload, memory and start-up, tus, download, small files, API latency). */
async function oneServerScenarios(files: Ctx["files"]): Promise<Row[]> {
  const rows: Row[] = [];
  // 5. Start-up: spawn → /health 200 on fresh data dirs (first run: migrations, key generation).
  const startups: number[] = [];
  const inProcess: number[] = [];
  for (let i = 0; i < 5; i++) {
    const n = logN;
    const s = await startStorageBrain(join(tmp, `startup-${i}`), "startup");
    startups.push(s.startupMs);
    await s.stop();
    inProcess.push(reportedStartupMs(join(tmp, `startup-${n}.log`)));
  }

  const server = await startStorageBrain(join(tmp, "data"), "storage-brain");
  await Bun.sleep(500);
  const idleRssMiB = memOf(server.proc.pid).rssMiB;
  const tenant = await createTenant(server);
  const bytesDir = join(tmp, "ceiling-bytes");
  mkdirSync(bytesDir);
  const bytes = await startCeiling("bytes.ts", { CEILING_DIR: bytesDir });
  const ctx: Ctx = {
    quick,
    tmp,
    serverCmd,
    log,
    startStorageBrain,
    createTenant,
    startCeiling,
    server,
    api: { base: server.url, apiKey: tenant.apiKey },
    bytes,
    files,
  };

  log("1. upload");
  const up = await uploadScenario(ctx);
  emit(up.json);
  rows.push(...up.rows);
  const startupMs = round(median(startups), 1);
  emit({
    scenario: "memory",
    unit: "MiB",
    idleRssMiB: round(idleRssMiB),
    peakRssSingle100MiB: roundAll(up.peak.single),
    peakRssConcurrent8x64MiB: roundAll(up.peak.concurrent),
    serverVmHwmAfterUploads: round(up.peak.serverHwm),
    startupMs: { median: startupMs, runs: startups.map((x) => round(x, 1)), serverReportedMedian: median(inProcess) },
  });
  rows.push(
    { scenario: "memory", metric: "idle RSS after start (MiB)", value: `${round(idleRssMiB)}` },
    {
      scenario: "memory",
      metric: "peak RSS during 1×100 MiB upload (MiB; ceiling: bare+AES)",
      value: `${round(up.peak.single.server)}`,
      ceiling: `${round(up.peak.single.enc)}`,
      target: "< 150",
      met: up.peak.single.server < 150,
    },
    {
      scenario: "memory",
      metric: "peak RSS during 8×64 MiB uploads (MiB; ceiling: bare+AES)",
      value: `${round(up.peak.concurrent.server)}`,
      ceiling: `${round(up.peak.concurrent.enc)}`,
      target: "≤ 160",
      met: up.peak.concurrent.server <= 160,
    },
    {
      scenario: "memory",
      metric: "start-up, fresh data dir (spawn → /health 200)",
      value: `${startupMs} ms`,
      target: "< 300 ms",
      met: startupMs < 300,
    },
  );

  Bun.spawnSync(["sync"]); // uploads fsync their files, but flush everything else before the next scenario too

  log("1b. tus upload vs two-step");
  const tus = await tusUploadScenario(ctx);
  emit(tus.json);
  rows.push(...tus.rows);
  Bun.spawnSync(["sync"]);

  log("2. download");
  const down = await downloadScenario(ctx, up.bigFileId, CEILING_BIG_NAME);
  emit(down.json);
  rows.push(...down.rows);

  log("3. small files");
  const small = await smallFilesScenario(ctx);
  emit(small.json);
  rows.push(...small.rows);
  await server.stop();
  await bytes.stop();

  log("4. API latency");
  const api = await apiLatencyScenario(ctx);
  emit(api.json);
  rows.push(...api.rows);
  return rows;
}

async function main() {
  const build = describeBuild();
  log(`${build}; ${quick ? "quick" : "full"} run; tmp ${tmp}`);
  const files = { big: join(tmp, "big.png"), mid: join(tmp, "mid.png") };
  makePngFile(files.big, BIG);
  makePngFile(files.mid, MID);
  const rows: Row[] = pgOnly ? [] : await oneServerScenarios(files);
  if (!noPg) {
    log("5. PostgreSQL vs SQLite; two instances");
    try {
      const pg = await postgresScenario({ quick, tmp, log, startStorageBrain, createTenant, pgFiles });
      emit(pg.json);
      rows.push(...pg.rows);
    } catch (err) {
      // A build without PostgreSQL serving (bench:compare's base commit) or no PostgreSQL here:
      // the SQLite rows above still count.
      const msg = err instanceof Error ? err.message.split("\n").slice(0, 3).join(" ") : String(err);
      log(`PostgreSQL scenario failed: ${msg}`);
      emit({ scenario: "postgres", error: msg });
      rows.push({ scenario: "postgres", metric: "FAILED (see stderr)", value: msg.slice(0, 120) });
    }
  }

  emit({ scenario: "summary", build, rows });
  process.stdout.write(`\nStorage Brain bench (${quick ? "quick" : "full"}): ${build}\n`);
  printTable(rows);
  log("done");
}

const roundAll = (o: Record<string, number>) => Object.fromEntries(Object.entries(o).map(([k, v]) => [k, round(v)]));

function printTable(rows: Row[]) {
  const head = ["scenario", "metric", "value", "ceiling", "ratio", "target", "met"];
  const cells = rows.map((r) => [
    r.scenario,
    r.metric,
    r.value,
    r.ceiling ?? "",
    Number.isFinite(r.ratio) ? String(r.ratio) : "",
    r.target ?? "",
    r.met === undefined ? "" : r.met ? "yes" : "MISSED",
  ]);
  const widths = head.map((h, i) => Math.max(h.length, ...cells.map((c) => c[i]!.length)));
  const line = (c: string[]) => `| ${c.map((x, i) => x.padEnd(widths[i]!)).join(" | ")} |`;
  process.stdout.write(
    `${[line(head), `|${widths.map((w) => "-".repeat(w + 2)).join("|")}|`, ...cells.map(line), ""].join("\n")}\n`,
  );
}

try {
  await main();
} catch (err) {
  log(`FAILED: ${err instanceof Error ? err.stack : String(err)}`);
  process.exitCode = 1;
} finally {
  await Promise.all([...servers].map((s) => s.stop()));
  if (keep)
    log(
      `kept ${tmp}${profile ? ` (CPU profiles of the real server in ${join(tmp, "profiles")}, one per process, written at exit)` : ""}`,
    );
  else rmSync(tmp, { recursive: true, force: true });
}
