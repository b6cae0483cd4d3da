/**
 * 1b. Resumable uploads: tus-js-client (default chunking: the whole file in one PATCH) against the
 * two-step upload, interleaved in the same run on the same server: 1 × 100 MiB and 8 × 64 MiB,
 * MB/s and the server's CPU time per GiB. Target: tus ≥ 90 % of the two-step rate. The same tus
 * upload sent by fetch in one PATCH runs alongside: client and server share the 2 cores, so the
 * gap between the two tus rows is tus-js-client's own cost, not the server's.
 */
import { createReadStream } from "node:fs";
import { Upload } from "tus-js-client";
import { type Api, tusUploadOnePatch, upload } from "../lib/client";
import type { Ctx, ScenarioResult } from "../lib/context";
import { cpuMsOf } from "../lib/proc";
import { MiB, mbps, medianBy, ratio } from "../lib/stats";
import { BIG, MID } from "./upload";

const CONCURRENT = 8;
/** `tusFetch`: the same tus upload sent by fetch in one PATCH, to tell the server's cost from tus-js-client's. */
type Mode = "twoStep" | "tus" | "tusFetch";
const MODES = ["twoStep", "tus", "tusFetch"] as const;

/** One tus upload of the file at `path`; resolves with the file id once the last PATCH answered. */
function tusUpload(api: Api, path: string, name: string): Promise<string> {
  return new Promise((resolve, reject) => {
    let fileId = "";
    const u = new Upload(createReadStream(path), {
      endpoint: `${api.base}/api/v1/uploads/tus`,
      headers: { authorization: `Bearer ${api.apiKey}` },
      metadata: { filename: name, filetype: "image/png" },
      retryDelays: null,
      storeFingerprintForResuming: false,
      onAfterResponse: (_req, res) => {
        fileId ||= res.getHeader("Storage-Brain-File-Id") ?? "";
      },
      onError: reject,
      onSuccess: () => resolve(fileId),
    });
    u.start();
  });
}

export async function tusUploadScenario(ctx: Ctx): Promise<ScenarioResult> {
  const reps = ctx.quick ? 3 : 5;
  const pid = ctx.server.proc.pid;
  const send = (mode: Mode, path: string, size: number, name: string) =>
    mode === "tus"
      ? tusUpload(ctx.api, path, `${name}.png`)
      : mode === "tusFetch"
        ? tusUploadOnePatch(ctx.api, Bun.file(path), `${name}.png`)
        : upload(ctx.api, Bun.file(path), size, `${name}.png`);

  for (const mode of MODES) await send(mode, ctx.files.mid, MID, `tus-warmup-${mode}`);

  const measure = async (mode: Mode, kind: "single" | "concurrent", rep: number) => {
    const n = kind === "single" ? 1 : CONCURRENT;
    const size = kind === "single" ? BIG : MID;
    const file = kind === "single" ? ctx.files.big : ctx.files.mid;
    const cpu0 = cpuMsOf(pid);
    const t0 = performance.now();
    await Promise.all(Array.from({ length: n }, (_, i) => send(mode, file, size, `${mode}-${kind}-${i}-r${rep}`)));
    const ms = performance.now() - t0;
    const cpuMs = cpuMsOf(pid) - cpu0;
    return { mbps: mbps(n * size, ms), cpuMsPerGiB: Math.round(cpuMs / ((n * size) / (1024 * MiB))) };
  };

  const out = {} as Record<"single" | "concurrent", Record<Mode, { mbps: number; cpuMsPerGiB: number }>>;
  for (const kind of ["single", "concurrent"] as const) {
    const runs: Record<Mode, { mbps: number; cpuMsPerGiB: number }[]> = { twoStep: [], tus: [], tusFetch: [] };
    // Interleaved, so a noisy neighbour on the shared machine hits every mode alike.
    for (let rep = 0; rep < reps; rep++) for (const mode of MODES) runs[mode].push(await measure(mode, kind, rep));
    out[kind] = {
      twoStep: medianBy(runs.twoStep, (r) => r.mbps),
      tus: medianBy(runs.tus, (r) => r.mbps),
      tusFetch: medianBy(runs.tusFetch, (r) => r.mbps),
    };
    ctx.log(
      `tus ${kind}: tus-js-client ${out[kind].tus.mbps} MB/s, tus by fetch ${out[kind].tusFetch.mbps}, two-step ${out[kind].twoStep.mbps} MB/s`,
    );
  }

  const json = {
    scenario: "tus-upload",
    unit: "MB/s (1e6 B/s), median of reps; cpuMsPerGiB = server CPU time per GiB uploaded",
    reps,
    client:
      "tus: tus-js-client (Node build), default chunkSize (one PATCH), file read from disk; tusFetch: fetch, one PATCH of the file",
    single: { sizeBytes: BIG, ...out.single, ratio: ratio(out.single.tus.mbps, out.single.twoStep.mbps) },
    concurrent: {
      clients: CONCURRENT,
      sizeBytes: MID,
      ...out.concurrent,
      ratio: ratio(out.concurrent.tus.mbps, out.concurrent.twoStep.mbps),
    },
  };
  const rows = (["single", "concurrent"] as const).flatMap((kind) => {
    const o = out[kind];
    const label = kind === "single" ? "1×100 MiB" : `${CONCURRENT}×64 MiB`;
    return [
      {
        scenario: "tus-upload",
        metric: `${label} MB/s, tus vs two-step`,
        value: `${o.tus.mbps}`,
        ceiling: `${o.twoStep.mbps}`,
        ratio: ratio(o.tus.mbps, o.twoStep.mbps),
        target: "≥ 0.90",
        met: o.tus.mbps >= 0.9 * o.twoStep.mbps,
      },
      {
        scenario: "tus-upload",
        metric: `${label} server CPU ms/GiB, tus vs two-step`,
        value: `${o.tus.cpuMsPerGiB}`,
        ceiling: `${o.twoStep.cpuMsPerGiB}`,
        ratio: ratio(o.tus.cpuMsPerGiB, Math.max(1, o.twoStep.cpuMsPerGiB)),
      },
      {
        scenario: "tus-upload",
        metric: `${label} MB/s, tus by fetch (one PATCH, no client library) vs two-step`,
        value: `${o.tusFetch.mbps}`,
        ceiling: `${o.twoStep.mbps}`,
        ratio: ratio(o.tusFetch.mbps, o.twoStep.mbps),
      },
      {
        scenario: "tus-upload",
        metric: `${label} server CPU ms/GiB, tus by fetch vs two-step`,
        value: `${o.tusFetch.cpuMsPerGiB}`,
        ceiling: `${o.twoStep.cpuMsPerGiB}`,
        ratio: ratio(o.tusFetch.cpuMsPerGiB, Math.max(1, o.twoStep.cpuMsPerGiB)),
      },
    ];
  });
  return { json, rows };
}
