/**
 * 5. PostgreSQL next to SQLite (issue 17's "Performance"), every number measured in this scenario
 * back to back on the same build:
 *  a. 4 KiB uploads (request + PUT) from 16 clients: a fresh SQLite data dir vs a fresh PostgreSQL
 *     database, rounds alternating; uploads/s, p50/p99 and CPU per upload (server process; for
 *     PostgreSQL also its backends serving this database).
 *  b. the same uploads on two server processes sharing one fresh PostgreSQL database (clients split
 *     8/8) vs one of them alone (16 clients), alternating: the client, both servers and PostgreSQL
 *     share the machine's cores, so CPU per upload is reported with the rate.
 *  c. GET /api/v1/files deep into N files (cursor 90% deep) and GET /api/v1/files/:id: SQLite seeded
 *     by seed.ts, PostgreSQL by pg-seed.ts (one INSERT … SELECT generate_series), same rows;
 *     p50/p99 at 1 connection, req/s at 32 (wrk, as api-latency).
 * Each PostgreSQL run gets a database of its own (created here, dropped after). Objects stay on
 * the local disk (each instance its own DATA_DIR; a client's PUT goes to the instance that
 * answered its request), so the database is what is compared, not S3.
 */
import { randomBytes } from "node:crypto";
import { mkdirSync } from "node:fs";
import { join } from "node:path";
import { createTestPgDatabase, type TestPgDatabase } from "../../test/support/pg";
import { type Api, loop, pngBytes, upload } from "../lib/client";
import type { Ctx, Row, ScenarioResult } from "../lib/context";
import { runLoad } from "../lib/load";
import { pgBackendsCpu } from "../lib/pg-cpu";
import { seedPgFiles } from "../lib/pg-seed";
import { cpuMsOf, type Server } from "../lib/proc";
import { seedFiles } from "../lib/seed";
import { latencyStats, median, ratio, round } from "../lib/stats";

const SIZE = 4096;
const CLIENTS = 16;
const LOADED_CONNECTIONS = 32;

/** `clients` upload loops for `seconds`, split round-robin over `apis`; CPU of `servers` (and of `pg`'s backends) per upload. */
async function uploadRun(o: { apis: Api[]; servers: Server[]; pg?: TestPgDatabase; seconds: number; tag: string }) {
  const body = pngBytes(SIZE);
  const send = async (w: number, i: number) => {
    await upload(o.apis[w % o.apis.length]!, body, SIZE, `${o.tag}-${w}-${i}.png`);
  };
  await loop(CLIENTS, { perWorker: 5 }, send); // warm-up (connections, JIT, pool)
  const cpu0 = o.servers.map((s) => cpuMsOf(s.proc.pid));
  const pg0 = o.pg ? await pgBackendsCpu(o.pg) : undefined;
  const lat: number[] = [];
  const ms = await loop(CLIENTS, { seconds: o.seconds }, async (w, i) => {
    const t0 = performance.now();
    await send(w, i);
    lat.push(performance.now() - t0);
  });
  const serverCpuMs = o.servers.reduce((sum, s, i) => sum + cpuMsOf(s.proc.pid) - cpu0[i]!, 0);
  let pgCpuMs: number | undefined;
  if (o.pg && pg0) {
    pgCpuMs = 0;
    for (const [pid, now] of await pgBackendsCpu(o.pg)) pgCpuMs += now - (pg0.get(pid) ?? 0);
  }
  return {
    uploadsPerSec: Math.round(lat.length / (ms / 1000)),
    ...latencyStats(lat),
    count: lat.length,
    serverCpuMsPerUpload: round(serverCpuMs / lat.length, 2),
    ...(pgCpuMs === undefined ? {} : { pgCpuMsPerUpload: round(pgCpuMs / lat.length, 2) }),
  };
}
type UploadRun = Awaited<ReturnType<typeof uploadRun>>;

/** The run with the median rate of several rounds. */
const medianRun = (runs: UploadRun[]) => {
  const m = median(runs.map((r) => r.uploadsPerSec));
  return { ...runs.find((r) => r.uploadsPerSec === m)!, rounds: runs.map((r) => r.uploadsPerSec) };
};

/** What this scenario needs from the runner (it starts its own servers; `--pg-only` runs it alone). */
export type PgCtx = Pick<Ctx, "quick" | "tmp" | "log" | "startStorageBrain" | "createTenant"> & {
  /** `--pg-files N`: files seeded for the API rows (default: as api-latency, 100k quick / 1M full) */
  pgFiles?: number;
};

export async function postgresScenario(ctx: PgCtx): Promise<ScenarioResult> {
  const seconds = ctx.quick ? 4 : 8;
  const rounds = ctx.quick ? 1 : 2;
  const n = ctx.pgFiles ?? (ctx.quick ? 100_000 : 1_000_000);
  const masterKey = randomBytes(32).toString("base64");
  const dir = (name: string) => {
    const d = join(ctx.tmp, `pg-${name}`);
    mkdirSync(d, { recursive: true });
    return d;
  };
  const withPg = async <T>(fn: (db: TestPgDatabase) => Promise<T>): Promise<T> => {
    const db = await createTestPgDatabase();
    try {
      return await fn(db);
    } finally {
      await db.drop();
    }
  };
  const startPg = (db: TestPgDatabase, name: string) =>
    ctx.startStorageBrain(dir(name), name, { DATABASE_URL: db.url, MASTER_KEY: masterKey });
  const tenantOn = async (s: Server): Promise<Api> => ({ base: s.url, apiKey: (await ctx.createTenant(s)).apiKey });

  // a. One instance: SQLite vs PostgreSQL.
  ctx.log("5a. small uploads: SQLite vs PostgreSQL");
  const small = { sqlite: [] as UploadRun[], pg: [] as UploadRun[] };
  const lite = await ctx.startStorageBrain(dir("sqlite-small"), "sqlite-small");
  try {
    await withPg(async (db) => {
      const pgs = await startPg(db, "pg-small");
      try {
        const [liteApi, pgApi] = [await tenantOn(lite), await tenantOn(pgs)];
        for (let r = 0; r < rounds; r++) {
          small.sqlite.push(await uploadRun({ apis: [liteApi], servers: [lite], seconds, tag: `l${r}` }));
          small.pg.push(await uploadRun({ apis: [pgApi], servers: [pgs], pg: db, seconds, tag: `p${r}` }));
        }
      } finally {
        await pgs.stop();
      }
    });
  } finally {
    await lite.stop();
  }
  const smallSqlite = medianRun(small.sqlite);
  const smallPg = medianRun(small.pg);
  ctx.log(`small uploads/s: SQLite ${smallSqlite.uploadsPerSec}, PostgreSQL ${smallPg.uploadsPerSec}`);

  // b. Two instances on one PostgreSQL database vs one of them alone.
  ctx.log("5b. small uploads: two instances on one PostgreSQL database vs one");
  const scale = { one: [] as UploadRun[], two: [] as UploadRun[] };
  await withPg(async (db) => {
    const a = await startPg(db, "pg-a");
    const b = await startPg(db, "pg-b");
    try {
      const apiA = await tenantOn(a);
      const apiB = { base: b.url, apiKey: apiA.apiKey }; // one tenant, reached through either instance
      for (let r = 0; r < rounds; r++) {
        scale.one.push(await uploadRun({ apis: [apiA], servers: [a, b], pg: db, seconds, tag: `one${r}` }));
        scale.two.push(await uploadRun({ apis: [apiA, apiB], servers: [a, b], pg: db, seconds, tag: `two${r}` }));
      }
    } finally {
      await Promise.all([a.stop(), b.stop()]);
    }
  });
  const one = medianRun(scale.one);
  const two = medianRun(scale.two);
  ctx.log(`small uploads/s: one instance ${one.uploadsPerSec}, two ${two.uploadsPerSec}`);

  // c. Metadata routes deep into N files.
  ctx.log(`5c. API: seeding ${n} files into SQLite and into PostgreSQL…`);
  const liteDir = dir("sqlite-seeded");
  const liteSeed = await seedFiles(liteDir, n);
  Bun.spawnSync(["sync"]);
  const measure = async (server: Server, paths: string[], apiKey: string) => {
    const base = { baseUrl: server.url, paths, apiKey, tmpDir: ctx.tmp, log: ctx.log };
    await runLoad({ ...base, connections: 4, seconds: 1 }); // warm-up
    const single = await runLoad({ ...base, connections: 1, seconds });
    const loaded = await runLoad({ ...base, connections: LOADED_CONNECTIONS, seconds });
    if (single.errors || loaded.errors) throw new Error(`${server.name} ${paths[0]}: errors`);
    return { p50Ms: single.p50Ms, p99Ms: single.p99Ms, rps: loaded.rps, tool: single.tool };
  };
  const routes = async (s: Server, seed: typeof liteSeed) => ({
    list: await measure(s, [`/api/v1/files?limit=20&cursor=${seed.deepCursor}`], seed.apiKey),
    get: await measure(
      s,
      seed.sampleIds.map((id) => `/api/v1/files/${id}`),
      seed.apiKey,
    ),
  });
  const liteSrv = await ctx.startStorageBrain(liteDir, "sqlite-seeded");
  let liteApi: Awaited<ReturnType<typeof routes>>;
  try {
    liteApi = await routes(liteSrv, liteSeed);
  } finally {
    await liteSrv.stop();
  }
  const { pgApi, pgSeedMs } = await withPg(async (db) => {
    const seed = await seedPgFiles(db.url, n, { masterKey });
    ctx.log(`PostgreSQL seeded in ${Math.round(seed.seedMs)} ms`);
    const s = await startPg(db, "pg-seeded");
    try {
      return { pgApi: await routes(s, seed), pgSeedMs: seed.seedMs };
    } finally {
      await s.stop();
    }
  });
  ctx.log(
    `GET /files deep: SQLite p99 ${liteApi.list.p99Ms} ms ${liteApi.list.rps}/s, PostgreSQL p99 ${pgApi.list.p99Ms} ms ${pgApi.list.rps}/s; ` +
      `GET /files/:id: SQLite ${liteApi.get.rps}/s, PostgreSQL ${pgApi.get.rps}/s`,
  );

  const N = n >= 1e6 ? `${n / 1e6}M` : `${n / 1e3}k`;
  const json = {
    scenario: "postgres",
    note: `PostgreSQL vs SQLite in the same run; ${CLIENTS} clients × 4 KiB request+PUT, ${seconds}s × ${rounds} rounds (median); API: wrk p50/p99 at c=1, req/s at c=${LOADED_CONNECTIONS}`,
    smallUploads: {
      sqlite: smallSqlite,
      postgres: smallPg,
      ratio: ratio(smallPg.uploadsPerSec, smallSqlite.uploadsPerSec),
    },
    twoInstances: { one, two, ratio: ratio(two.uploadsPerSec, one.uploadsPerSec) },
    api: {
      files: n,
      sqliteSeedMs: Math.round(liteSeed.seedMs),
      pgSeedMs: Math.round(pgSeedMs),
      sqlite: liteApi,
      postgres: pgApi,
    },
  };
  const within2x = (pg: number, lite: number) => pg >= 0.5 * lite;
  const rows: Row[] = [
    {
      scenario: "postgres",
      metric: "4 KiB uploads/s, 16 clients (PostgreSQL vs SQLite)",
      value: `${smallPg.uploadsPerSec}`,
      ceiling: `${smallSqlite.uploadsPerSec}`,
      ratio: json.smallUploads.ratio,
    },
    {
      scenario: "postgres",
      metric: "4 KiB upload p50/p99 ms; server CPU ms/upload (+ PostgreSQL's)",
      value: `${smallPg.p50Ms}/${smallPg.p99Ms}; ${smallPg.serverCpuMsPerUpload} + ${smallPg.pgCpuMsPerUpload}`,
      ceiling: `${smallSqlite.p50Ms}/${smallSqlite.p99Ms}; ${smallSqlite.serverCpuMsPerUpload}`,
    },
    {
      scenario: "postgres",
      metric: `GET /files deep cursor @${N} p50/p99 ms, c=1 (PostgreSQL vs SQLite)`,
      value: `${pgApi.list.p50Ms}/${pgApi.list.p99Ms}`,
      ceiling: `${liteApi.list.p50Ms}/${liteApi.list.p99Ms}`,
      ratio: ratio(pgApi.list.p99Ms, liteApi.list.p99Ms),
      target: "p99 ≤ 2× SQLite",
      met: pgApi.list.p99Ms <= 2 * liteApi.list.p99Ms,
    },
    {
      scenario: "postgres",
      metric: `GET /files deep cursor req/s, c=${LOADED_CONNECTIONS} (PostgreSQL vs SQLite)`,
      value: `${pgApi.list.rps}`,
      ceiling: `${liteApi.list.rps}`,
      ratio: ratio(pgApi.list.rps, liteApi.list.rps),
      target: "≥ 0.5",
      met: within2x(pgApi.list.rps, liteApi.list.rps),
    },
    {
      scenario: "postgres",
      metric: `GET /files/:id p50/p99 ms, c=1 (PostgreSQL vs SQLite)`,
      value: `${pgApi.get.p50Ms}/${pgApi.get.p99Ms}`,
      ceiling: `${liteApi.get.p50Ms}/${liteApi.get.p99Ms}`,
      ratio: ratio(pgApi.get.p99Ms, liteApi.get.p99Ms),
      target: "p99 ≤ 2× SQLite",
      met: pgApi.get.p99Ms <= 2 * liteApi.get.p99Ms,
    },
    {
      scenario: "postgres",
      metric: `GET /files/:id req/s, c=${LOADED_CONNECTIONS} (PostgreSQL vs SQLite)`,
      value: `${pgApi.get.rps}`,
      ceiling: `${liteApi.get.rps}`,
      ratio: ratio(pgApi.get.rps, liteApi.get.rps),
      target: "≥ 0.5",
      met: within2x(pgApi.get.rps, liteApi.get.rps),
    },
    {
      scenario: "postgres",
      metric: "4 KiB uploads/s on PostgreSQL: two instances vs one",
      value: `${two.uploadsPerSec}`,
      ceiling: `${one.uploadsPerSec}`,
      ratio: json.twoInstances.ratio,
      target: "≥ 1.6",
      met: two.uploadsPerSec >= 1.6 * one.uploadsPerSec,
    },
    {
      scenario: "postgres",
      metric: "CPU ms/upload: servers + PostgreSQL, two instances vs one",
      value: `${two.serverCpuMsPerUpload} + ${two.pgCpuMsPerUpload}`,
      ceiling: `${one.serverCpuMsPerUpload} + ${one.pgCpuMsPerUpload}`,
    },
  ];
  return { json, rows };
}
