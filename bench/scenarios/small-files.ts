/** 3. Small-file rate: 4 KiB uploads (request + PUT) from 16 concurrent clients, vs the bare encrypting PUT. */

import { loop, pngBytes, put, upload } from "../lib/client";
import type { Ctx, ScenarioResult } from "../lib/context";
import { latencyStats, ratio } from "../lib/stats";

const SIZE = 4096;
const CLIENTS = 16;

export async function smallFilesScenario(ctx: Ctx): Promise<ScenarioResult> {
  const seconds = ctx.quick ? 4 : 10;
  const body = pngBytes(SIZE);
  const run = async (send: (w: number, i: number) => Promise<void>) => {
    await loop(CLIENTS, { perWorker: 5 }, send); // warm-up
    const lat: number[] = [];
    const ms = await loop(CLIENTS, { seconds }, async (w, i) => {
      const t0 = performance.now();
      await send(w, i);
      lat.push(performance.now() - t0);
    });
    return { uploadsPerSec: Math.round(lat.length / (ms / 1000)), ...latencyStats(lat), count: lat.length };
  };
  const server = await run((w, i) => upload(ctx.api, body, SIZE, `small-${w}-${i}.png`).then(() => {}));
  const bare = await run((w, i) => put(`${ctx.bytes.url}/enc/small-${w}-${i}`, body));
  ctx.log(
    `small files: server ${server.uploadsPerSec}/s p50 ${server.p50Ms} p99 ${server.p99Ms}; bare+enc PUT ${bare.uploadsPerSec}/s`,
  );
  const json = {
    scenario: "small-files",
    sizeBytes: SIZE,
    clients: CLIENTS,
    seconds,
    server,
    bareEncryptedPut: bare,
    ratio: ratio(server.uploadsPerSec, bare.uploadsPerSec),
  };
  const rows = [
    {
      scenario: "small-files",
      metric: "4 KiB uploads/s (request+PUT vs bare+AES PUT)",
      value: `${server.uploadsPerSec}`,
      ceiling: `${bare.uploadsPerSec}`,
      ratio: json.ratio,
    },
    {
      scenario: "small-files",
      metric: "4 KiB upload p50/p99 ms",
      value: `${server.p50Ms}/${server.p99Ms}`,
      ceiling: `${bare.p50Ms}/${bare.p99Ms}`,
    },
  ];
  return { json, rows };
}
