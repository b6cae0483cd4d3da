/**
 * 4. API latency: GET /api/v1/files?limit=20 with a cursor deep into N seeded files of one
 * tenant, and GET /api/v1/files/:id over random seeded ids, with wrk: p50/p99 at 1 connection
 * (service latency) and req/s at 32 (saturation); vs bare Bun.serve JSON and bare Elysia + sqlite.
 */
import { mkdirSync } from "node:fs";
import { join } from "node:path";
import type { Ctx, Row, ScenarioResult } from "../lib/context";
import { runLoad } from "../lib/load";
import type { Server } from "../lib/proc";
import { seedFiles } from "../lib/seed";
import { ratio, round } from "../lib/stats";

const LOADED_CONNECTIONS = 32;

export async function apiLatencyScenario(ctx: Ctx): Promise<ScenarioResult> {
  const n = ctx.quick ? 100_000 : 1_000_000;
  const seconds = ctx.quick ? 2 : 8;
  const dataDir = join(ctx.tmp, "seeded");
  mkdirSync(dataDir, { recursive: true });
  ctx.log(`seeding ${n} files…`);
  const seed = await seedFiles(dataDir, n);
  Bun.spawnSync(["sync"]); // flush the seeding's dirty pages now, not as writeback stalls mid-measurement
  ctx.log(`seeded in ${Math.round(seed.seedMs)} ms`);

  const listPaths = [`/api/v1/files?limit=20&cursor=${seed.deepCursor}`];
  const getPaths = seed.sampleIds.map((id) => `/api/v1/files/${id}`);

  const measure = async (server: Server, paths: string[], apiKey?: string) => {
    const base = { baseUrl: server.url, paths, apiKey, tmpDir: ctx.tmp, log: ctx.log };
    await runLoad({ ...base, connections: 4, seconds: 1 }); // warm-up
    const single = await runLoad({ ...base, connections: 1, seconds });
    const loaded = await runLoad({ ...base, connections: LOADED_CONNECTIONS, seconds });
    if (single.errors || loaded.errors)
      throw new Error(`${server.name} ${paths[0]}: ${single.errors + loaded.errors} errors`);
    return {
      p50Ms: single.p50Ms,
      p99Ms: single.p99Ms,
      requests: single.requests,
      rps: loaded.rps,
      loadedP50Ms: loaded.p50Ms,
      loadedP99Ms: loaded.p99Ms,
      tool: single.tool,
    };
  };
  type M = Awaited<ReturnType<typeof measure>>;

  const sb = await ctx.startStorageBrain(dataDir, "storage-brain-seeded");
  let list: M, get: M;
  try {
    list = await measure(sb, listPaths, seed.apiKey);
    get = await measure(sb, getPaths, seed.apiKey);
  } finally {
    await sb.stop();
  }
  // The start-up row is a restart: the first start on a database with no master-key canary (this
  // freshly seeded one, or one from before the check) scans every row once for foreign key ids
  // (domain/ops/deployment-secrets.ts), which a deployment pays once, not on every start.
  const restarted = await ctx.startStorageBrain(dataDir, "storage-brain-seeded-restart");
  await restarted.stop();
  ctx.log(
    `GET /files (deep cursor): p50 ${list.p50Ms} p99 ${list.p99Ms} ms, ${list.rps} req/s; GET /files/:id: p50 ${get.p50Ms} p99 ${get.p99Ms}, ${get.rps} req/s`,
  );

  const helloSrv = await ctx.startCeiling("hello.ts");
  let hello: M;
  try {
    hello = await measure(helloSrv, ["/"]);
  } finally {
    await helloSrv.stop();
  }
  const elysiaSrv = await ctx.startCeiling("elysia-sqlite.ts", { DB_PATH: join(dataDir, "storage-brain.db") });
  let eList: M, eGet: M;
  try {
    eList = await measure(elysiaSrv, listPaths, seed.apiKey);
    eGet = await measure(elysiaSrv, getPaths, seed.apiKey);
  } finally {
    await elysiaSrv.stop();
  }
  ctx.log(`ceilings: hello ${hello.rps} req/s; elysia+sqlite list ${eList.rps} req/s, get ${eGet.rps} req/s`);

  const json = {
    scenario: "api-latency",
    files: n,
    seedMs: Math.round(seed.seedMs),
    startupMsWithFiles: round(restarted.startupMs, 1),
    firstStartMsWithFiles: round(sb.startupMs, 1),
    tool: list.tool,
    note: `p50/p99 at 1 connection (wrk's coordinated-omission-corrected percentiles); rps (and loaded p50/p99) at ${LOADED_CONNECTIONS} connections; ${seconds}s each`,
    list: { ...list, ratioVsElysiaSqlite: ratio(list.rps, eList.rps), ratioVsHello: ratio(list.rps, hello.rps) },
    get: { ...get, ratioVsElysiaSqlite: ratio(get.rps, eGet.rps), ratioVsHello: ratio(get.rps, hello.rps) },
    ceilings: { hello, elysiaSqliteList: eList, elysiaSqliteGet: eGet },
  };
  const N = n >= 1e6 ? `${n / 1e6}M` : `${n / 1e3}k`;
  const rows: Row[] = [
    {
      scenario: "api",
      metric: `GET /files deep cursor @${N} p50/p99 ms (c=1)`,
      value: `${list.p50Ms}/${list.p99Ms}`,
      ceiling: `${eList.p50Ms}/${eList.p99Ms}`,
      target: "p99 < 5 ms",
      met: list.p99Ms < 5,
    },
    {
      scenario: "api",
      metric: `GET /files deep cursor req/s (c=${LOADED_CONNECTIONS}) vs Elysia+sqlite`,
      value: `${list.rps}`,
      ceiling: `${eList.rps}`,
      ratio: ratio(list.rps, eList.rps),
      target: "≥ 0.5",
      met: list.rps >= 0.5 * eList.rps,
    },
    {
      scenario: "api",
      metric: `GET /files/:id p50/p99 ms (c=1)`,
      value: `${get.p50Ms}/${get.p99Ms}`,
      ceiling: `${eGet.p50Ms}/${eGet.p99Ms}`,
    },
    {
      scenario: "api",
      metric: `GET /files/:id req/s (c=${LOADED_CONNECTIONS}) vs Elysia+sqlite`,
      value: `${get.rps}`,
      ceiling: `${eGet.rps}`,
      ratio: ratio(get.rps, eGet.rps),
      target: "≥ 0.5",
      met: get.rps >= 0.5 * eGet.rps,
    },
    {
      scenario: "api",
      metric: `GET /files/:id req/s vs bare Bun.serve JSON`,
      value: `${get.rps}`,
      ceiling: `${hello.rps}`,
      ratio: ratio(get.rps, hello.rps),
    },
    {
      scenario: "api",
      metric: `start-up with ${N} files (spawn → /health 200)`,
      value: `${round(restarted.startupMs, 0)} ms (first start: ${round(sb.startupMs, 0)} ms)`,
      target: "< 300 ms",
      met: restarted.startupMs < 300,
    },
  ];
  return { json, rows };
}
