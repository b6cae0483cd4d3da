/**
 * S3 backend throughput: Storage Brain with STORAGE_BACKEND=s3 against s3rver, next to s3rver's
 * own raw PutObject (multipart, same part size) / GetObject measured in the same run, plus the
 * server's peak RSS during a 100 MiB upload. `bun bench/s3.ts [--quick]` (npm run bench:s3).
 * One JSON line per metric, then a table. s3rver (a Node S3 emulator) is the ceiling here, not
 * AWS: the ratio says what our encryption and streaming cost on top of the store.
 *
 * CPU per GiB: the server's own (/proc) next to the raw client's. s3rver runs inside this bench
 * process, so the raw client's CPU is estimated as this process's CPU during the raw transfers
 * minus its CPU during the server's transfers of the same bytes (s3rver's share in both, plus a
 * fetch client that only streams a file or drains a body).
 */

import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { GetObjectCommand, S3Client } from "@aws-sdk/client-s3";
import { Upload } from "@aws-sdk/lib-storage";
import S3rver from "s3rver";
import { drain, makePngFile, upload } from "./lib/client";
import { BUN, cpuMsOf, freePort, ROOT, sampleRss, startServer } from "./lib/proc";
import { MiB, median, round } from "./lib/stats";

const quick = process.argv.includes("--quick");
const reps = quick ? 2 : 3;
const SIZE = 100 * MiB;
const dir = mkdtempSync(join(tmpdir(), "sb-bench-s3-"));
const bucket = "bench";
const ADMIN = "sk_admin_bench_s3_0123456789";
const log = (m: string) => process.stderr.write(`[bench:s3] ${m}\n`);
const mbps = (bytes: number, ms: number) => round(bytes / 1e6 / (ms / 1000));
const selfCpuMs = () => {
  const u = process.cpuUsage();
  return (u.user + u.system) / 1000;
};
const GiB = 1024 * MiB;

const s3rver = new S3rver({
  port: freePort(),
  address: "127.0.0.1",
  directory: join(dir, "s3"),
  silent: true,
  configureBuckets: [{ name: bucket }],
});
const addr = await s3rver.run();
const endpoint = `http://127.0.0.1:${addr.port}`;
const client = new S3Client({
  region: "us-east-1",
  endpoint,
  forcePathStyle: true,
  credentials: { accessKeyId: "S3RVER", secretAccessKey: "S3RVER" },
  requestChecksumCalculation: "WHEN_REQUIRED",
  responseChecksumValidation: "WHEN_REQUIRED",
});
const src = join(dir, "src.png");
makePngFile(src, SIZE);

// Ceiling: raw multipart PutObject and GetObject of the same bytes.
const rawPut: number[] = [];
const rawGet: number[] = [];
const rawCpu = { put: 0, get: 0 };
for (let i = 0; i < reps; i++) {
  let c0 = selfCpuMs();
  let t0 = performance.now();
  await new Upload({
    client,
    params: { Bucket: bucket, Key: `raw/${i}`, Body: Bun.file(src).stream() },
    partSize: 8 * MiB,
    queueSize: 2,
  }).done();
  rawPut.push(mbps(SIZE, performance.now() - t0));
  rawCpu.put += selfCpuMs() - c0;
  c0 = selfCpuMs();
  t0 = performance.now();
  const res = await client.send(new GetObjectCommand({ Bucket: bucket, Key: `raw/${i}` }));
  let n = 0;
  for await (const c of res.Body!.transformToWebStream() as ReadableStream<Uint8Array>) n += c.byteLength;
  rawGet.push(mbps(n, performance.now() - t0));
  rawCpu.get += selfCpuMs() - c0;
}
log(`raw s3rver: put ${median(rawPut)} MB/s, get ${median(rawGet)} MB/s`);

const server = await startServer("storage-brain (s3)", [BUN, join(ROOT, "src/main.ts"), "serve"], {
  logFile: join(dir, "server.log"),
  env: {
    DATA_DIR: join(dir, "data"),
    ADMIN_API_KEY: ADMIN,
    LOG_LEVEL: "warn",
    STORAGE_BACKEND: "s3",
    S3_BUCKET: bucket,
    S3_ENDPOINT: endpoint,
    S3_FORCE_PATH_STYLE: "true",
    AWS_ACCESS_KEY_ID: "S3RVER",
    AWS_SECRET_ACCESS_KEY: "S3RVER",
  },
});
const created = await fetch(`${server.url}/api/v1/admin/tenants`, {
  method: "POST",
  headers: { authorization: `Bearer ${ADMIN}`, "content-type": "application/json" },
  body: JSON.stringify({ name: "bench-s3", quotaBytes: 1e12 }),
});
const { apiKey } = (await created.json()) as { apiKey: string };
const api = { base: server.url, apiKey };
const ours: number[] = [];
const oursGet: number[] = [];
const idle = sampleRss(server.proc.pid).stop();
const rss = sampleRss(server.proc.pid);
const ids: string[] = [];
const serverCpu = { put: 0, get: 0 };
const benchCpu = { put: 0, get: 0 };
for (let i = 0; i < reps; i++) {
  const c0 = cpuMsOf(server.proc.pid);
  const b0 = selfCpuMs();
  const up = await upload(api, Bun.file(src), SIZE, `s3-${i}.png`);
  serverCpu.put += cpuMsOf(server.proc.pid) - c0;
  benchCpu.put += selfCpuMs() - b0;
  ours.push(mbps(SIZE, up.putMs));
  ids.push(up.fileId);
}
const peak = rss.stop();
const rssGet = sampleRss(server.proc.pid);
for (const id of ids) {
  const c0 = cpuMsOf(server.proc.pid);
  const b0 = selfCpuMs();
  const t0 = performance.now();
  const n = await drain(`${server.url}/api/v1/files/${id}/download`, { authorization: `Bearer ${apiKey}` });
  oursGet.push(mbps(n, performance.now() - t0));
  serverCpu.get += cpuMsOf(server.proc.pid) - c0;
  benchCpu.get += selfCpuMs() - b0;
}
const perGiB = (ms: number) => Math.round(ms / ((reps * SIZE) / GiB));
const peakGet = rssGet.stop();
await server.stop();
await s3rver.close();
rmSync(dir, { recursive: true, force: true });

const rows = [
  { metric: "upload 100 MiB MB/s vs raw multipart PutObject", value: median(ours), ceiling: median(rawPut) },
  { metric: "download 100 MiB MB/s vs raw GetObject", value: median(oursGet), ceiling: median(rawGet) },
  {
    metric: "upload CPU ms/GiB: server vs raw client (est.)",
    value: perGiB(serverCpu.put),
    ceiling: perGiB(rawCpu.put - benchCpu.put),
  },
  {
    metric: "download CPU ms/GiB: server vs raw client (est.)",
    value: perGiB(serverCpu.get),
    ceiling: perGiB(rawCpu.get - benchCpu.get),
  },
  { metric: "server RSS MiB idle → peak during uploads", value: `${round(idle)} → ${round(peak)}`, ceiling: "" },
  { metric: "server RSS MiB peak during downloads", value: `${round(peakGet)}`, ceiling: "" },
];
for (const r of rows)
  console.log(
    JSON.stringify({
      scenario: "s3",
      ...r,
      ratio: typeof r.value === "number" && typeof r.ceiling === "number" ? round(r.value / r.ceiling, 3) : undefined,
    }),
  );
console.log("\n| metric | ours | s3rver raw | ratio |\n|---|---|---|---|");
for (const r of rows)
  console.log(
    `| ${r.metric} | ${r.value} | ${r.ceiling} | ${typeof r.value === "number" && typeof r.ceiling === "number" ? round(r.value / r.ceiling, 3) : ""} |`,
  );
