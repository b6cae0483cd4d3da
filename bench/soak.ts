/**
 * Soak test: the compiled binary under sustained mixed load, then invariants that must hold after
 * it (no 5xx, no corrupted byte, counters equal to files, no reservation outliving its upload,
 * objects equal to rows, memory back near its start, no error in the log). Exits 1 on any breach.
 *
 *   bun bench/soak.ts [--seconds 60] [--workers 16] [--backend local|s3] [--no-build] [--keep]
 *                     [--expiry-interval 30] [--min-abandon-rate 0] [--rss-slack-mib 128]
 *                     [--mix abandon=60,tus=0]   (weights by operation; see MIX in soak/workload.ts)
 *                     [--profile]   (server from source under bun --cpu-prof-md; implies --keep)
 *
 * `npm run soak -- --seconds 480 --backend s3` for a long one (README "Reliability"). Throughput
 * is printed, never judged (the machine may be shared); only the invariants decide the exit code.
 * The last two lines ("N pass", "N fail") count invariants, in the form .ci/run sums.
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { ROOT } from "./lib/proc";
import {
  checkStore,
  checkUsage,
  type Invariant,
  sampleOverdue,
  summarizeLog,
  waitForReservations,
} from "./soak/checks";
import { Ledger } from "./soak/ledger";
import { invariantsTable, opsTable, summary } from "./soak/report";
import { ADMIN_KEY, ensureBinary, type S3Store, startS3, startServer } from "./soak/server";
import { type SoakTenant, worker } from "./soak/workload";

const { values: args } = parseArgs({
  options: {
    seconds: { type: "string", default: "60" },
    workers: { type: "string", default: "16" },
    backend: { type: "string", default: "local" },
    "no-build": { type: "boolean", default: false },
    keep: { type: "boolean", default: false },
    "expiry-interval": { type: "string", default: "30" },
    "min-abandon-rate": { type: "string", default: "0" },
    "rss-slack-mib": { type: "string", default: "128" },
    mix: { type: "string", default: "" },
    profile: { type: "boolean", default: false },
  },
});
const SECONDS = Number(args.seconds);
const WORKERS = Number(args.workers);
const BACKEND = args.backend;
if (BACKEND !== "local" && BACKEND !== "s3") throw new Error("--backend is local or s3");
const EXPIRY_S = 5;
const RETENTION_S = 10;
const TUS_EXPIRY_S = 60; // the smallest TUS_EXPIRY_SECONDS allows
const EXPIRY_INTERVAL_S = Number(args["expiry-interval"]);
const log = (m: string) => process.stderr.write(`[soak] ${m}\n`);

if (!args.profile) ensureBinary(!args["no-build"], log);
const dir = mkdtempSync(join(tmpdir(), "sb-soak-"));
const dataDir = join(dir, "data");
let s3: S3Store | null = null;
if (BACKEND === "s3") {
  s3 = await startS3(join(dir, "s3"));
  log(`s3rver runs under ${s3.runtime}`);
}
const env: Record<string, string> = {
  DATA_DIR: dataDir,
  ADMIN_API_KEY: ADMIN_KEY,
  LOG_LEVEL: "info",
  UPLOAD_EXPIRY_SECONDS: String(EXPIRY_S),
  UPLOAD_EXPIRY_INTERVAL_SECONDS: String(EXPIRY_INTERVAL_S),
  DELETED_RETENTION_SECONDS: String(RETENTION_S),
  PURGE_INTERVAL_SECONDS: "5",
  TUS_EXPIRY_SECONDS: String(TUS_EXPIRY_S),
  WEBHOOK_ALLOW_PRIVATE_NETWORKS: "true",
  ...s3?.env,
};
const profileCmd = [
  process.execPath,
  "--cpu-prof",
  "--cpu-prof-md",
  `--cpu-prof-dir=${join(dir, "profiles")}`,
  join(ROOT, "src", "main.ts"),
  "serve",
];
const server = await startServer(env, join(dir, "server.log"), args.profile ? profileCmd : undefined);
const base = server.base;
log(`server ${base} (${BACKEND}), data in ${dir}`);

// A webhook receiver in this process: one tenant's events keep the delivery job busy.
let hooks = 0;
const receiver = Bun.serve({
  port: 0,
  hostname: "127.0.0.1",
  fetch: async (req) => {
    await req.arrayBuffer();
    hooks++;
    return new Response("ok");
  },
});

/** Two large tenants and two small ones (QUOTA_EXCEEDED is frequent there), two workspaces each. */
async function seed(): Promise<SoakTenant[]> {
  const MiB = 1024 * 1024;
  const quotas = [1024 * MiB, 1024 * MiB, 48 * MiB, 24 * MiB];
  const out: SoakTenant[] = [];
  for (const [i, quotaBytes] of quotas.entries()) {
    const res = await fetch(`${base}/api/v1/admin/tenants`, {
      method: "POST",
      headers: { authorization: `Bearer ${ADMIN_KEY}`, "content-type": "application/json" },
      body: JSON.stringify({ name: `soak-${i}`, quotaBytes }),
    });
    const t = (await res.json()) as { id: string; apiKey: string };
    const h = { authorization: `Bearer ${t.apiKey}`, "content-type": "application/json" };
    const workspaces: SoakTenant["workspaces"] = [];
    for (const [slug, q] of [
      ["open", null],
      ["capped", Math.floor(quotaBytes / 4)],
    ] as const) {
      const w = await fetch(`${base}/api/v1/workspaces`, {
        method: "POST",
        headers: h,
        body: JSON.stringify({ name: slug, slug, quotaBytes: q }),
      });
      workspaces.push({ id: ((await w.json()) as { id: string }).id, quotaBytes: q });
    }
    if (i === 0) {
      const hook = await fetch(`${base}/api/v1/webhooks`, {
        method: "POST",
        headers: h,
        body: JSON.stringify({ url: `http://127.0.0.1:${receiver.port}/hook` }),
      });
      if (hook.status !== 201) throw new Error(`webhook endpoint: ${hook.status} ${await hook.text()}`);
    }
    out.push({ id: t.id, apiKey: t.apiKey, quotaBytes, workspaces });
  }
  return out;
}

const tenants = await seed();
await Bun.sleep(1000);
const rss = { start: server.rssMiB(), peak: 0, end: 0 };
const ledger = new Ledger();
const overdue = sampleOverdue(dataDir);
const sampler = setInterval(() => {
  rss.peak = Math.max(rss.peak, server.rssMiB());
  overdue.sample();
  ledger.compact();
}, 1000);

log(`load: ${WORKERS} workers for ${SECONDS} s`);
const t0 = performance.now();
const until = t0 + SECONDS * 1000;
const progress = setInterval(() => {
  const t = ledger.totals();
  log(
    `${Math.round((performance.now() - t0) / 1000)} s: ${t.count} requests, ${ledger.abandoned} abandoned, ${t.s5xx} 5xx, ${t.net} net errors, ${t.mismatches} mismatches, RSS ${Math.round(server.rssMiB())} MiB`,
  );
}, 30_000);
const weights = Object.fromEntries(
  (args.mix ?? "")
    .split(",")
    .filter(Boolean)
    .map((kv) => [kv.split("=")[0], Number(kv.split("=")[1])]),
);
const ctx = {
  base,
  tenants,
  ledger,
  minSize: 1024,
  maxSize: 8 * 1024 * 1024,
  until,
  tusExpirySeconds: TUS_EXPIRY_S,
  weights,
};
await Promise.all(Array.from({ length: WORKERS }, () => worker(ctx)));
const loadSeconds = (performance.now() - t0) / 1000;
clearInterval(progress);
clearInterval(sampler);
rss.peak = Math.max(rss.peak, server.rssMiB());
const overdueDuringLoad = overdue.result();

// After the load: every abandoned upload must expire within its expiry plus one job interval.
log("load done; waiting for expiry to release every reservation");
const wait = await waitForReservations(base, ADMIN_KEY, tenants, ledger, (EXPIRY_S + EXPIRY_INTERVAL_S + 15) * 1000);
const invariants: Invariant[] = [];
invariants.push(...(await checkUsage(base, ADMIN_KEY, tenants, ledger)));
await Bun.sleep(5000); // idle, then memory
rss.end = server.rssMiB();
const exitCode = await server.stop();
receiver.stop(true);
invariants.push(
  ...(await checkStore(env, dataDir, s3 ? join(dir, "s3") : undefined).catch((err) => [
    { name: "store checks ran", ok: false, detail: String(err).slice(0, 300) },
  ])),
);
const logSummary = await summarizeLog(server.logFile);
const peer = s3?.health();
await s3?.close();

const t = ledger.totals();
const slack = Number(args["rss-slack-mib"]);
const minAbandon = Number(args["min-abandon-rate"]);
const abandonRate = ledger.abandoned / loadSeconds;
invariants.unshift(
  {
    name: "no 5xx",
    ok: t.s5xx === 0 && logSummary.status5xx === 0,
    detail: `clients saw ${t.s5xx}, access log has ${logSummary.status5xx}`,
  },
  { name: "no network errors (cut PUTs excluded)", ok: t.net === 0, detail: `${t.net}` },
  {
    name: "no verification mismatch",
    ok: t.mismatches === 0,
    detail: `${t.mismatches} (downloads, ranges, signed URLs, list cursors, lost files)`,
  },
  {
    name: "used + reserved <= quota on every quota answer",
    ok: ledger.quotaAnswers.breaches === 0,
    detail: `${ledger.quotaAnswers.breaches} of ${ledger.quotaAnswers.count} answers over`,
  },
  {
    name: "expiry keeps up during the load",
    ok: overdueDuringLoad.maxOverdueMs <= (2 * EXPIRY_INTERVAL_S + 10) * 1000,
    detail: `oldest held reservation ${Math.round(overdueDuringLoad.maxOverdueMs / 1000)} s past expiry (bound ${2 * EXPIRY_INTERVAL_S + 10} s)`,
  },
);
invariants.push(
  {
    name: `RSS after idle <= start + ${slack} MiB`,
    ok: rss.end <= rss.start + slack,
    detail: `${Math.round(rss.start)} -> ${Math.round(rss.end)} MiB (peak ${Math.round(rss.peak)})`,
  },
  {
    name: "no error-level log line",
    ok: logSummary.errorCount === 0,
    detail: `${logSummary.errorCount} ${logSummary.errors.slice(0, 2).join(" | ")}`,
  },
  { name: "server stops cleanly (exit 0)", ok: exitCode === 0, detail: `exit ${exitCode}` },
);
// A failure of the store the soak runs against is not one of the server's; this line says which it was.
if (peer)
  invariants.push({
    name: "S3 peer (s3rver) stayed up, no fault inside it",
    ok: !peer.exitedEarly && peer.faults.length === 0,
    detail: peer.exitedEarly
      ? `s3rver ${peer.exitedEarly}`
      : `${peer.faults.length} faults${peer.faults.length ? `: ${peer.faults[0]?.slice(0, 300)}` : ""}`,
  });
if (minAbandon > 0)
  invariants.push({
    name: `abandon rate >= ${minAbandon}/s`,
    ok: abandonRate >= minAbandon,
    detail: `${abandonRate.toFixed(1)}/s`,
  });

console.log(
  `\nSoak: ${BACKEND} backend, ${WORKERS} workers, ${Math.round(loadSeconds)} s, ${args.profile ? "source under --cpu-prof" : "binary dist/storage-brain"}\n`,
);
console.log(opsTable(ledger));
console.log();
console.log(
  summary(ledger, {
    backend: BACKEND,
    seconds: loadSeconds,
    workers: WORKERS,
    rss,
    overdue: overdueDuringLoad,
    expiryWaitMs: wait.waitedMs,
    log: logSummary,
  }),
);
const causes = Object.entries(logSummary.causes).sort((a, b) => b[1] - a[1]);
if (causes.length) console.log(`causes of error lines:\n${causes.map(([c, n]) => `  ${n}× ${c}`).join("\n")}`);
console.log(`webhook receiver got ${hooks} requests`);
if (ledger.breaches.length)
  console.log(`\nfirst breaches:\n${ledger.breaches.map((b) => `  ${b.what}: ${b.detail}`).join("\n")}`);
console.log(`\n${invariantsTable(invariants)}\n`);
const failed = invariants.filter((i) => !i.ok).length;
console.log(` ${invariants.length - failed} pass`);
console.log(` ${failed} fail`);
if (args.keep || args.profile) log(`kept ${dir}`);
else rmSync(dir, { recursive: true, force: true });
process.exit(failed ? 1 : 0);
