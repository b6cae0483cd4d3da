/**
 * 1. Upload throughput (and 5. peak RSS during it): 1 × 100 MiB and 8 concurrent × 64 MiB through
 * request → PUT, against the bare ceiling writing plain bytes, writing encrypted segments, and
 * writing encrypted segments while hashing the plaintext with SHA-256 (what the server does).
 */

import { put, upload } from "../lib/client";
import type { Ctx, ScenarioResult } from "../lib/context";
import { cpuMsOf, memOf, sampleRss } from "../lib/proc";
import { MiB, mbps, medianBy, ratio, round } from "../lib/stats";

export const BIG = 100 * MiB;
export const MID = 64 * MiB;
const CONCURRENT = 8;
/** The ceiling's copy of the 100 MiB file (first single-upload rep), which the download scenario reads. */
export const CEILING_BIG_NAME = "single-0-r0";

type Target = "server" | "plain" | "enc" | "enchash";
const TARGETS = ["server", "plain", "enc", "enchash"] as const;

export type Peaks = Record<"single" | "concurrent", Record<Target, number>> & { serverHwm: number };

export async function uploadScenario(ctx: Ctx): Promise<ScenarioResult & { bigFileId: string; peak: Peaks }> {
  const reps = ctx.quick ? 3 : 5;
  let bigFileId = "";
  const send = async (t: Target, path: string, size: number, name: string) => {
    if (t === "server") {
      const r = await upload(ctx.api, Bun.file(path), size, `${name}.png`);
      if (size === BIG) bigFileId = r.fileId;
    } else await put(`${ctx.bytes.url}/${t}/${name}`, Bun.file(path));
  };
  const pidOf = (t: Target) => (t === "server" ? ctx.server.proc.pid : ctx.bytes.proc.pid);

  // Warm-up: JIT and first-touch costs out of the way on every target.
  for (const t of TARGETS) await send(t, ctx.files.mid, MID, "warmup");

  const peak: Peaks = {
    single: { server: 0, plain: 0, enc: 0, enchash: 0 },
    concurrent: { server: 0, plain: 0, enc: 0, enchash: 0 },
    serverHwm: 0,
  };
  const measure = async (t: Target, kind: "single" | "concurrent", rep: number) => {
    const n = kind === "single" ? 1 : CONCURRENT;
    const size = kind === "single" ? BIG : MID;
    const rss = sampleRss(pidOf(t));
    const cpu0 = cpuMsOf(pidOf(t));
    const t0 = performance.now();
    await Promise.all(
      Array.from({ length: n }, (_, i) =>
        send(t, kind === "single" ? ctx.files.big : ctx.files.mid, size, `${kind}-${i}-r${rep}`),
      ),
    );
    const ms = performance.now() - t0;
    const cpuMs = cpuMsOf(pidOf(t)) - cpu0;
    peak[kind][t] = Math.max(peak[kind][t], rss.stop());
    return { ms, mbps: mbps(n * size, ms), cpuMsPerGiB: Math.round(cpuMs / ((n * size) / (1024 * MiB))) };
  };

  const out: Record<string, Record<Target, { mbps: number; cpuMsPerGiB: number }>> = {};
  for (const kind of ["single", "concurrent"] as const) {
    const runs: Record<Target, { ms: number; mbps: number; cpuMsPerGiB: number }[]> = {
      server: [],
      plain: [],
      enc: [],
      enchash: [],
    };
    for (let rep = 0; rep < reps; rep++) for (const t of TARGETS) runs[t].push(await measure(t, kind, rep));
    const pick = (t: Target) => medianBy(runs[t], (r) => r.mbps);
    out[kind] = { server: pick("server"), plain: pick("plain"), enc: pick("enc"), enchash: pick("enchash") };
    ctx.log(
      `upload ${kind}: server ${out[kind].server.mbps} MB/s, bare ${out[kind].plain.mbps}, bare+enc ${out[kind].enc.mbps}, bare+enc+sha256 ${out[kind].enchash.mbps}`,
    );
  }
  peak.serverHwm = memOf(ctx.server.proc.pid).hwmMiB;

  const json = {
    scenario: "upload",
    unit: "MB/s (1e6 B/s), median of reps; cpuMsPerGiB = process CPU time per GiB uploaded",
    reps,
    single: {
      sizeBytes: BIG,
      ...out.single,
      ratioVsBare: ratio(out.single!.server.mbps, out.single!.plain.mbps),
      ratioVsBareEncrypted: ratio(out.single!.server.mbps, out.single!.enc.mbps),
    },
    concurrent: {
      clients: CONCURRENT,
      sizeBytes: MID,
      ...out.concurrent,
      ratioVsBare: ratio(out.concurrent!.server.mbps, out.concurrent!.plain.mbps),
      ratioVsBareEncrypted: ratio(out.concurrent!.server.mbps, out.concurrent!.enc.mbps),
    },
  };
  const rows = (["single", "concurrent"] as const).flatMap((kind) => {
    const o = out[kind]!;
    const label = kind === "single" ? "1×100 MiB" : `${CONCURRENT}×64 MiB`;
    return [
      {
        scenario: "upload",
        metric: `${label} MB/s vs bare+AES`,
        value: `${o.server.mbps}`,
        ceiling: `${o.enc.mbps}`,
        ratio: ratio(o.server.mbps, o.enc.mbps),
        target: "≥ 0.85",
        met: o.server.mbps >= 0.85 * o.enc.mbps,
      },
      {
        scenario: "upload",
        metric: `${label} MB/s vs bare plain`,
        value: `${o.server.mbps}`,
        ceiling: `${o.plain.mbps}`,
        ratio: ratio(o.server.mbps, o.plain.mbps),
      },
      {
        scenario: "upload",
        metric: `${label} CPU ms/GiB (server vs bare+AES)`,
        value: `${o.server.cpuMsPerGiB}`,
        ceiling: `${o.enc.cpuMsPerGiB}`,
        ratio: round(o.server.cpuMsPerGiB / Math.max(1, o.enc.cpuMsPerGiB), 2),
      },
      {
        scenario: "upload",
        metric: `${label} CPU ms/GiB (server vs bare+AES+SHA-256)`,
        value: `${o.server.cpuMsPerGiB}`,
        ceiling: `${o.enchash.cpuMsPerGiB}`,
        ratio: round(o.server.cpuMsPerGiB / Math.max(1, o.enchash.cpuMsPerGiB), 2),
        target: "≤ 1.15",
        met: o.server.cpuMsPerGiB <= 1.15 * o.enchash.cpuMsPerGiB,
      },
    ];
  });
  return { json, rows, bigFileId, peak };
}
