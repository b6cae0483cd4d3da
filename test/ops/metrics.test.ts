import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { rmSync } from "node:fs";
import { join } from "node:path";
import { tempDir } from "../support/harness";
import { api, download, parsePrometheus, pngBytes, sampleValue, upload } from "../support/ops-client";
import { BUN, type Spawned, spawnServer } from "../support/spawn-server";

const MAIN = join(import.meta.dir, "../../src/main.ts");
const ADMIN = "sk_admin_metrics_test_0123456789";
const TOKEN = "metrics-token-0123456789abcdef";
const dir = tempDir();
let s: Spawned;

beforeAll(async () => {
  s = await spawnServer([BUN, MAIN, "serve"], { env: { DATA_DIR: dir, ADMIN_API_KEY: ADMIN, METRICS_TOKEN: TOKEN } });
});
afterAll(async () => {
  await s.stop();
  rmSync(dir, { recursive: true, force: true });
});

const scrape = async (key = TOKEN) => {
  const res = await fetch(`${s.url}/metrics`, { headers: { authorization: `Bearer ${key}` } });
  expect(res.status).toBe(200);
  expect(res.headers.get("content-type")).toStartWith("text/plain");
  return parsePrometheus(await res.text());
};

describe("GET /metrics against a running server", () => {
  test("parses as Prometheus text and counts the requests, bytes and uploads just made", async () => {
    const t = (await api(s.url, "POST", "/api/v1/admin/tenants", ADMIN, { name: "metered" })).body;
    const before = await scrape();
    const bytes = pngBytes(300_000, 1);
    const fileId = await upload(s.url, t.apiKey, bytes);
    expect(await download(s.url, t.apiKey, fileId)).toEqual(bytes);
    for (let i = 0; i < 3; i++) expect((await api(s.url, "GET", `/api/v1/files/${fileId}`, t.apiKey)).status).toBe(200);
    expect((await api(s.url, "GET", `/api/v1/files/${crypto.randomUUID()}`, t.apiKey)).status).toBe(404);
    await fetch(`${s.url}/no/such/path/${fileId}`);

    const after = await scrape();
    const delta = (name: string, labels: Record<string, string> = {}) =>
      (sampleValue(after, name, labels) ?? 0) - (sampleValue(before, name, labels) ?? 0);
    // Route templates, never raw ids.
    expect(delta("http_requests_total", { method: "GET", route: "/api/v1/files/:fileId", status: "200" })).toBe(3);
    expect(delta("http_requests_total", { method: "GET", route: "/api/v1/files/:fileId", status: "404" })).toBe(1);
    expect(
      delta("http_requests_total", { method: "GET", route: "/api/v1/files/:fileId/download", status: "200" }),
    ).toBe(1);
    expect(delta("http_requests_total", { route: "unmatched", status: "404" })).toBe(1);
    expect(after.some((x) => Object.values(x.labels).some((v) => v.includes(fileId)))).toBe(false);
    expect(
      delta("http_request_duration_seconds_count", { method: "GET", route: "/api/v1/files/:fileId", status: "200" }),
    ).toBe(3);
    expect(delta("storage_uploaded_bytes_total")).toBe(bytes.byteLength);
    expect(delta("storage_downloaded_bytes_total")).toBe(bytes.byteLength);
    expect(delta("storage_uploads_total", { outcome: "completed" })).toBe(1);
    expect(sampleValue(after, "storage_tenant_used_bytes", { tenant: t.id })).toBe(bytes.byteLength);
    expect(sampleValue(after, "storage_tenant_reserved_bytes", { tenant: t.id })).toBe(0);
    expect(sampleValue(after, "webhook_queue_depth")).toBe(0);
    for (const job of ["upload-expiry", "purge", "webhooks"]) {
      expect(sampleValue(after, "storage_job_lag_seconds", { job })).toBe(0);
      expect(sampleValue(after, "storage_job_backlog_items", { job })).toBe(0);
    }
    expect(sampleValue(after, "storage_brain_build_info", { backend: "local", database: "sqlite" })).toBe(1);
    expect(sampleValue(after, "process_resident_memory_bytes")).toBeGreaterThan(1_000_000);
    expect(sampleValue(after, "nodejs_heap_size_used_bytes")).toBeGreaterThan(0);
    expect(sampleValue(after, "nodejs_eventloop_lag_seconds")).toBeGreaterThanOrEqual(0);
  });

  test("a failed upload is counted by reason", async () => {
    const t = (await api(s.url, "POST", "/api/v1/admin/tenants", ADMIN, { name: "metered-fail" })).body;
    const before = sampleValue(await scrape(), "storage_uploads_total", { outcome: "failed", reason: "type_mismatch" });
    const r = await api(s.url, "POST", "/api/v1/upload/request", t.apiKey, {
      fileType: "image/png",
      fileName: "x.png",
      fileSizeBytes: 100,
    });
    await fetch(s.url + r.body.presignedUrl, { method: "PUT", body: new Uint8Array(100) });
    const after = sampleValue(await scrape(), "storage_uploads_total", { outcome: "failed", reason: "type_mismatch" });
    expect((after ?? 0) - (before ?? 0)).toBe(1);
  });

  test("guarded: METRICS_TOKEN or the admin key; nothing else", async () => {
    const t = (await api(s.url, "POST", "/api/v1/admin/tenants", ADMIN, { name: "metered-2" })).body;
    expect((await scrape(ADMIN)).length).toBeGreaterThan(0);
    for (const key of [null, t.apiKey, "metrics-token-wrong-0123456789"]) {
      const r = await api(s.url, "GET", "/metrics", key);
      expect(r.status).toBe(401);
      expect(r.body.error.code).toBe("UNAUTHORIZED");
    }
  });

  test("audit rows carry the client address of the connection", async () => {
    const t = (await api(s.url, "POST", "/api/v1/admin/tenants", ADMIN, { name: "addressed" })).body;
    const rows = (await api(s.url, "GET", `/api/v1/admin/audit?tenantId=${t.id}`, ADMIN)).body.entries;
    expect(rows).toHaveLength(1);
    expect(rows[0].address).toMatch(/127\.0\.0\.1$/);
  });
});
