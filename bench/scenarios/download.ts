/**
 * 2. Download throughput: full GET of the 100 MiB file and random 1 MiB Range reads, against
 * the bare ceiling serving the same bytes with Bun.file (sendfile) and decrypting its own copy.
 */

import { drain, loop } from "../lib/client";
import type { Ctx, ScenarioResult } from "../lib/context";
import { cpuMsOf } from "../lib/proc";
import { latencyStats, MiB, mbps, medianBy, ratio, round } from "../lib/stats";
import { BIG } from "./upload";

type Target = "server" | "plain" | "dec";
const RANGE_CLIENTS = 8;

export async function downloadScenario(ctx: Ctx, bigFileId: string, ceilingName: string): Promise<ScenarioResult> {
  const reps = ctx.quick ? 3 : 5;
  const auth = { authorization: `Bearer ${ctx.api.apiKey}` };
  const urlOf = (t: Target) =>
    t === "server" ? `${ctx.api.base}/api/v1/files/${bigFileId}/download` : `${ctx.bytes.url}/${t}/${ceilingName}`;
  const get = (t: Target, headers: Record<string, string> = {}) =>
    drain(urlOf(t), t === "server" ? { ...auth, ...headers } : headers);
  const targets = ["server", "plain", "dec"] as const;

  for (const t of targets) await get(t); // warm-up (and page cache)

  const full: Record<Target, { mbps: number }[]> = { server: [], plain: [], dec: [] };
  for (let rep = 0; rep < reps; rep++) {
    for (const t of targets) {
      const t0 = performance.now();
      const n = await get(t);
      if (n !== BIG) throw new Error(`${t} download returned ${n} bytes`);
      full[t].push({ mbps: mbps(n, performance.now() - t0) });
    }
  }
  const fullMbps = Object.fromEntries(targets.map((t) => [t, medianBy(full[t], (r) => r.mbps).mbps])) as Record<
    Target,
    number
  >;
  ctx.log(`download full: server ${fullMbps.server} MB/s, sendfile ${fullMbps.plain}, bare decrypt ${fullMbps.dec}`);

  // Random 1 MiB ranges; the same pseudo-random sequence for every target.
  const seconds = ctx.quick ? 3 : 8;
  const range: Record<
    Target,
    { mbps: number; readsPerSec: number; p50Ms: number; p99Ms: number; cpuMsPerRead: number }
  > = {} as never;
  // Server-process CPU per read (/proc): ours and the bare servers' (one process serves both
  // ceilings), the steadiest comparison when other processes share the cores.
  const pidOf = (t: Target) => (t === "server" ? ctx.server.proc.pid : ctx.bytes.proc.pid);
  for (const t of targets) {
    let seed = 12345;
    const next = () => {
      seed = (seed * 1103515245 + 12345) % 2 ** 31;
      return seed / 2 ** 31;
    };
    const lat: number[] = [];
    let bytes = 0;
    const cpu0 = cpuMsOf(pidOf(t));
    const ms = await loop(RANGE_CLIENTS, { seconds }, async () => {
      const start = Math.floor(next() * (BIG - MiB));
      const t0 = performance.now();
      bytes += await get(t, { range: `bytes=${start}-${start + MiB - 1}` });
      lat.push(performance.now() - t0);
    });
    const cpuMsPerRead = round((cpuMsOf(pidOf(t)) - cpu0) / lat.length, 3);
    range[t] = {
      mbps: mbps(bytes, ms),
      readsPerSec: Math.round(lat.length / (ms / 1000)),
      ...latencyStats(lat),
      cpuMsPerRead,
    };
  }
  ctx.log(
    `download 1 MiB ranges: server ${range.server.mbps} MB/s, sendfile ${range.plain.mbps}, bare decrypt ${range.dec.mbps}`,
  );

  const json = {
    scenario: "download",
    unit: "MB/s (1e6 B/s)",
    full: {
      sizeBytes: BIG,
      reps,
      mbps: fullMbps,
      ratioVsBareDecrypt: ratio(fullMbps.server, fullMbps.dec),
      ratioVsSendfile: ratio(fullMbps.server, fullMbps.plain),
    },
    range1MiB: {
      clients: RANGE_CLIENTS,
      seconds,
      ...range,
      ratioVsBareDecrypt: ratio(range.server.mbps, range.dec.mbps),
      ratioVsSendfile: ratio(range.server.mbps, range.plain.mbps),
    },
  };
  const rows = [
    ...(
      [
        // Targets against the bare decrypting server: full downloads ≥ 0.90, ranges ≥ 0.85.
        ["full 100 MiB", fullMbps, 0.9],
        [
          `1 MiB ranges ×${RANGE_CLIENTS}`,
          { server: range.server.mbps, plain: range.plain.mbps, dec: range.dec.mbps },
          0.85,
        ],
      ] as const
    ).flatMap(([label, m, target]) => [
      {
        scenario: "download",
        metric: `${label} MB/s vs bare decrypt`,
        value: `${m.server}`,
        ceiling: `${m.dec}`,
        ratio: ratio(m.server, m.dec),
        target: `≥ ${target.toFixed(2)}`,
        met: m.server >= target * m.dec,
      },
      {
        scenario: "download",
        metric: `${label} MB/s vs sendfile`,
        value: `${m.server}`,
        ceiling: `${m.plain}`,
        ratio: ratio(m.server, m.plain),
        target: "≥ 0.33 (within 3×)",
        met: m.server * 3 >= m.plain,
      },
    ]),
    {
      scenario: "download",
      metric: `1 MiB range p50/p99 ms (server vs bare decrypt)`,
      value: `${range.server.p50Ms}/${range.server.p99Ms}`,
      ceiling: `${range.dec.p50Ms}/${range.dec.p99Ms}`,
    },
    {
      scenario: "download",
      metric: `1 MiB range server CPU-ms per read (ratio: × bare decrypt)`,
      value: `${range.server.cpuMsPerRead}`,
      ceiling: `${range.dec.cpuMsPerRead}`,
      ratio: ratio(range.server.cpuMsPerRead, range.dec.cpuMsPerRead),
    },
  ];
  return { json, rows };
}
