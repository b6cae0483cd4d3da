/**
 * HTTP load for the API-latency scenario: wrk (installed from Debian by this script if missing)
 * with bench/wrk/report.lua, or an in-process fetch loop when wrk can't be had.
 */
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { latencyStats, round } from "./stats";

export interface LoadResult {
  tool: "wrk" | "fetch-loop";
  connections: number;
  requests: number;
  rps: number;
  p50Ms: number;
  p99Ms: number;
  errors: number;
}

let wrkPath: string | null | undefined;

/** Path of wrk, installing it with apt-get once if needed; null if that fails. */
export function ensureWrk(log: (m: string) => void): string | null {
  if (wrkPath !== undefined) return wrkPath;
  wrkPath = Bun.which("wrk");
  if (!wrkPath) {
    log("wrk not found; trying apt-get install -y wrk");
    const r = Bun.spawnSync(["sh", "-c", "(apt-get update && apt-get install -y wrk) >/dev/null 2>&1"], {
      env: { ...process.env, DEBIAN_FRONTEND: "noninteractive" },
    });
    wrkPath = r.exitCode === 0 ? Bun.which("wrk") : null;
    if (!wrkPath)
      log("wrk install failed; falling back to an in-process fetch loop (numbers include the client's own cost)");
  }
  return wrkPath;
}

/**
 * Latency percentiles from wrk are corrected for coordinated omission (wrk 4 adds the requests a
 * stalled connection would have sent), so one event-loop stall of S ms shows in p99 whenever S is
 * more than ~1% of the run. After the run, waits until the server has worked off any backlog
 * (slow requests wrk left queued) so it can't leak into the next measurement.
 */
export async function runLoad(opts: {
  baseUrl: string;
  paths: string[];
  apiKey?: string;
  connections: number;
  seconds: number;
  tmpDir: string;
  log: (m: string) => void;
}): Promise<LoadResult> {
  const wrk = ensureWrk(opts.log);
  const r = wrk ? await runWrk(wrk, opts) : await runFetchLoop(opts);
  await settle(opts.baseUrl);
  return r;
}

/** Until /health answers in < 20 ms three times in a row (at most 60 s). */
async function settle(baseUrl: string) {
  const end = performance.now() + 60_000;
  for (let fast = 0; fast < 3 && performance.now() < end; ) {
    const t = performance.now();
    await (await fetch(`${baseUrl}/health`)).arrayBuffer();
    fast = performance.now() - t < 20 ? fast + 1 : 0;
  }
}

async function runWrk(wrk: string, o: Parameters<typeof runLoad>[0]): Promise<LoadResult> {
  const pathsFile = join(o.tmpDir, `wrk-paths-${Bun.hash(o.paths.join("\n"))}.txt`);
  writeFileSync(pathsFile, `${o.paths.join("\n")}\n`);
  const cmd = [
    wrk,
    "-t1",
    `-c${o.connections}`,
    `-d${o.seconds}s`,
    "--timeout",
    "10s",
    "-s",
    join(import.meta.dir, "..", "wrk", "report.lua"),
    o.baseUrl + o.paths[0],
  ];
  const proc = Bun.spawn(cmd, {
    env: { ...process.env, WRK_AUTH: o.apiKey ?? "", WRK_PATHS: pathsFile },
    stdout: "pipe",
    stderr: "pipe",
  });
  const out = await new Response(proc.stdout).text();
  await proc.exited;
  const line = out.split("\n").find((l) => l.startsWith("WRKJSON "));
  if (!line) throw new Error(`wrk gave no report: ${out}\n${await new Response(proc.stderr).text()}`);
  const r = JSON.parse(line.slice(8));
  return {
    tool: "wrk",
    connections: o.connections,
    requests: r.requests,
    rps: Math.round(r.requests / (r.durationUs / 1e6)),
    p50Ms: round(r.p50Us / 1000, 2),
    p99Ms: round(r.p99Us / 1000, 2),
    errors: r.errors + r.non2xx,
  };
}

async function runFetchLoop(o: Parameters<typeof runLoad>[0]): Promise<LoadResult> {
  const headers: Record<string, string> = o.apiKey ? { authorization: `Bearer ${o.apiKey}` } : {};
  const lat: number[] = [];
  let errors = 0;
  let i = 0;
  const end = performance.now() + o.seconds * 1000;
  const worker = async () => {
    while (performance.now() < end) {
      const t = performance.now();
      const res = await fetch(o.baseUrl + o.paths[i++ % o.paths.length], { headers });
      await res.arrayBuffer();
      if (!res.ok) errors++;
      lat.push(performance.now() - t);
    }
  };
  const t0 = performance.now();
  await Promise.all(Array.from({ length: o.connections }, worker));
  return {
    tool: "fetch-loop",
    connections: o.connections,
    requests: lat.length,
    rps: Math.round(lat.length / ((performance.now() - t0) / 1000)),
    ...latencyStats(lat),
    errors,
  };
}
