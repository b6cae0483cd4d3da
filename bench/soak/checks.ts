/**
 * The soak's invariants after the load: counters against files (through the API), the admin
 * recalculation, reservations against expiry, objects in the store against rows (from the
 * database file and the backend, with the server stopped), memory, and the server's own log.
 */
import { Database } from "bun:sqlite";
import { createReadStream, readdirSync } from "node:fs";
import { join, relative, sep } from "node:path";
import { createInterface } from "node:readline";
import { createStorageBackend } from "../../src/bootstrap";
import { parseConfig } from "../../src/config/load";
import type { Ledger } from "./ledger";
import type { SoakTenant } from "./workload";

export interface Invariant {
  name: string;
  ok: boolean;
  detail: string;
}

const admin = (key: string) => ({ authorization: `Bearer ${key}` });

async function getJson(url: string, headers: Record<string, string>, init: RequestInit = {}): Promise<any> {
  const res = await fetch(url, { ...init, headers: { ...headers, ...(init.headers as Record<string, string>) } });
  const body = await res.json();
  if (res.status !== 200) throw new Error(`${init.method ?? "GET"} ${url}: ${res.status} ${JSON.stringify(body)}`);
  return body;
}

/** Every file of a tenant through the admin API, all pages. */
async function allFiles(base: string, key: string, tenantId: string) {
  const out: { id: string; sizeBytes: number; processingStatus: string; workspaceId: string | null }[] = [];
  let cursor: string | null = null;
  do {
    const q = new URLSearchParams({ limit: "100", ...(cursor ? { cursor } : {}) });
    const page = await getJson(`${base}/api/v1/admin/tenants/${tenantId}/files?${q}`, admin(key));
    out.push(...page.files);
    cursor = page.nextCursor;
  } while (cursor);
  return out;
}

/** Usage counters = completed live files, client ledger = server listing, recalculation drift 0. */
export async function checkUsage(
  base: string,
  key: string,
  tenants: SoakTenant[],
  ledger: Ledger,
): Promise<Invariant[]> {
  const usage: string[] = [];
  const ledgerDiff: string[] = [];
  const drift: string[] = [];
  for (const t of tenants) {
    const files = (await allFiles(base, key, t.id)).filter((f) => f.processingStatus === "completed");
    const q = await getJson(`${base}/api/v1/admin/tenants/${t.id}/quota`, admin(key));
    const sum = files.reduce((a, f) => a + f.sizeBytes, 0);
    if (q.usedBytes !== sum) usage.push(`tenant ${t.id}: usedBytes ${q.usedBytes}, files ${sum}`);
    for (const w of t.workspaces) {
      const wv = await getJson(`${base}/api/v1/workspaces/${w.id}`, admin(t.apiKey));
      const wsum = files.filter((f) => f.workspaceId === w.id).reduce((a, f) => a + f.sizeBytes, 0);
      if (wv.usedBytes !== wsum) usage.push(`workspace ${w.id}: usedBytes ${wv.usedBytes}, files ${wsum}`);
    }
    const server = new Set(files.map((f) => f.id));
    const mine = new Set(
      ledger.files.filter((f) => f.tenant === tenants.indexOf(t) && f.state === "live").map((f) => f.id),
    );
    for (const id of mine) if (!server.has(id)) ledgerDiff.push(`lost: ${id}`);
    for (const id of server) if (!mine.has(id)) ledgerDiff.push(`unknown completed file: ${id}`);
    const r = await getJson(`${base}/api/v1/admin/tenants/${t.id}/recalculate-usage`, admin(key), { method: "POST" });
    if (r.tenants.length || r.workspaces.length) drift.push(JSON.stringify(r));
  }
  return [
    {
      name: "usedBytes = sum of completed live files (tenants, workspaces)",
      ok: !usage.length,
      detail: usage.slice(0, 3).join("; ") || `${tenants.length} tenants and their workspaces`,
    },
    {
      name: "client ledger = server's completed files",
      ok: !ledgerDiff.length,
      detail: `${ledgerDiff.length} differences ${ledgerDiff.slice(0, 3).join(", ")}`,
    },
    {
      name: "recalculate-usage reports 0 drift",
      ok: !drift.length,
      detail: drift.slice(0, 2).join("; ") || "no tenant or workspace changed",
    },
  ];
}

/** Waits until no tenant holds a reservation (no upload is in flight after the load). */
export async function waitForReservations(
  base: string,
  key: string,
  tenants: SoakTenant[],
  ledger: Ledger,
  timeoutMs: number,
) {
  const t0 = performance.now();
  for (;;) {
    let reserved = 0;
    for (const t of tenants) {
      const q = await getJson(`${base}/api/v1/admin/tenants/${t.id}/quota`, admin(key));
      ledger.quotaAnswer(`tenant ${t.id}`, q);
      reserved += q.reservedBytes;
    }
    const waited = performance.now() - t0;
    if (reserved === 0 || waited > timeoutMs) return { reserved, waitedMs: Math.round(waited) };
    await Bun.sleep(500);
  }
}

/** Database-side checks with the server stopped: reservations, objects vs rows, webhook outbox. */
export async function checkStore(env: Record<string, string>, dataDir: string, s3Dir?: string): Promise<Invariant[]> {
  const db = new Database(join(dataDir, "storage-brain.db"), { readonly: true });
  const now = Date.now();
  const held = db
    .query(
      "SELECT count(*) AS n, coalesce(sum(reserved_bytes), 0) AS b FROM files WHERE reserved_bytes > 0 AND upload_expires_at <= ?",
    )
    .get(now) as { n: number; b: number };
  const counters = db.query("SELECT coalesce(sum(reserved_bytes), 0) AS b FROM tenants").get() as { b: number };
  const keys = new Set(
    (
      db
        .query("SELECT storage_key AS k FROM files WHERE processing_status = 'completed' AND purged_at IS NULL")
        .all() as { k: string }[]
    ).map((r) => r.k),
  );
  const softDeleted = (
    db
      .query(
        "SELECT count(*) AS n FROM files WHERE processing_status = 'completed' AND deleted_at IS NOT NULL AND purged_at IS NULL",
      )
      .get() as { n: number }
  ).n;
  const hooks = db.query("SELECT status, count(*) AS n FROM webhook_deliveries GROUP BY status").all() as {
    status: string;
    n: number;
  }[];
  db.close();

  const objects = await listObjects(env, dataDir, s3Dir);
  const orphans = [...objects].filter((k) => !keys.has(k));
  const missing = [...keys].filter((k) => !objects.has(k));
  let temp = 0;
  if (env.STORAGE_BACKEND !== "s3") temp = readdirSync(join(dataDir, "objects", ".tmp")).length;
  // Multipart uploads left open, read from s3rver's directory. Reported, not judged: s3rver answers
  // 405 to AbortMultipartUpload, so every aborted tus upload leaves one there (S3 itself aborts it).
  let openMultipart = "";
  if (s3Dir) {
    try {
      openMultipart = `; ${readdirSync(join(s3Dir, env.S3_BUCKET ?? "", "._S3rver_uploads")).length} multipart uploads left open in s3rver (it does not implement AbortMultipartUpload)`;
    } catch {
      openMultipart = "; no multipart upload left open";
    }
  }
  const undelivered = hooks.filter((h) => h.status !== "delivered").map((h) => `${h.status}: ${h.n}`);
  return [
    {
      name: "no upload past its expiry holds a reservation",
      ok: held.n === 0 && counters.b === 0,
      detail: `${held.n} uploads hold ${held.b} B; tenants' reservedBytes sum ${counters.b}`,
    },
    {
      name: "objects in store = completed files + soft-deleted not yet purged",
      ok: !orphans.length && !missing.length && temp === 0,
      detail: `${objects.size} objects, ${keys.size} rows (${softDeleted} soft-deleted), ${orphans.length} orphans, ${missing.length} missing, ${temp} temp files${openMultipart}`,
    },
    {
      name: "every webhook delivered (none pending or dead)",
      ok: !undelivered.length,
      detail: hooks.map((h) => `${h.status}: ${h.n}`).join(", ") || "none",
    },
  ];
}

/**
 * Every object key in the store. On s3 it reads s3rver's own directory (one `<key>._S3rver_object`
 * file per object): under Bun, s3rver answers 500 to a ListObjectsV2 past 1,000 keys (its
 * continuation token uses a cipher Bun lacks), and its ListObjects v1 paging skipped keys.
 */
async function listObjects(env: Record<string, string>, dataDir: string, s3Dir?: string): Promise<Set<string>> {
  const objects = new Set<string>();
  if (env.STORAGE_BACKEND !== "s3") {
    const backend = await createStorageBackend(parseConfig({ ...env, DATA_DIR: dataDir }));
    for await (const k of backend.list("")) objects.add(k);
    return objects;
  }
  if (!s3Dir) throw new Error("the s3 check needs s3rver's directory");
  const root = join(s3Dir, env.S3_BUCKET ?? "", env.S3_KEY_PREFIX ?? "");
  const SUFFIX = "._S3rver_object";
  for (const e of readdirSync(root, { recursive: true, withFileTypes: true })) {
    if (!e.isFile() || !e.name.endsWith(SUFFIX)) continue;
    objects.add(
      relative(root, join(e.parentPath, e.name.slice(0, -SUFFIX.length)))
        .split(sep)
        .join("/"),
    );
  }
  return objects;
}

export interface LogSummary {
  lines: number;
  errors: string[];
  errorCount: number;
  /** Error lines by their `cause` (the store's or network's own error under a 5xx), most frequent first in the report. */
  causes: Record<string, number>;
  status5xx: number;
  backlog: Record<string, { runs: number; maxCount: number; maxOverdueMs: number }>;
  expiryRuns: { runs: number; expired: number; maxBatches: number; maxMs: number };
  purged: number;
}

/** Reads the server's JSON log: error lines, 5xx in the access log, job backlog and drain lines. */
export async function summarizeLog(path: string): Promise<LogSummary> {
  const s: LogSummary = {
    lines: 0,
    errors: [],
    errorCount: 0,
    causes: {},
    status5xx: 0,
    backlog: {},
    expiryRuns: { runs: 0, expired: 0, maxBatches: 0, maxMs: 0 },
    purged: 0,
  };
  for await (const line of createInterface({ input: createReadStream(path) })) {
    s.lines++;
    if (!line.startsWith("{")) continue;
    if (line.includes('"level":"error"')) {
      s.errorCount++;
      if (s.errors.length < 5) s.errors.push(line.slice(0, 300));
      const cause = /"cause":"((?:[^"\\]|\\.)*)"/.exec(line)?.[1]?.slice(0, 160);
      if (cause) s.causes[cause] = (s.causes[cause] ?? 0) + 1;
    }
    if (line.includes('"msg":"request"')) {
      if (/"status":5\d\d/.test(line)) s.status5xx++;
      continue;
    }
    const e = JSON.parse(line);
    if (e.msg === "job backlog") {
      const b = s.backlog[e.job] ?? { runs: 0, maxCount: 0, maxOverdueMs: 0 };
      s.backlog[e.job] = b;
      b.runs++;
      b.maxCount = Math.max(b.maxCount, e.count);
      b.maxOverdueMs = Math.max(b.maxOverdueMs, e.oldestOverdueMs);
    } else if (e.msg === "uploads expired") {
      s.expiryRuns.runs++;
      s.expiryRuns.expired += e.count;
      s.expiryRuns.maxBatches = Math.max(s.expiryRuns.maxBatches, e.batches ?? 1);
      s.expiryRuns.maxMs = Math.max(s.expiryRuns.maxMs, e.ms ?? 0);
    } else if (e.msg === "files purged") s.purged += e.count;
  }
  return s;
}

/**
 * Samples, while the load runs, the oldest reservation held by an upload past its expiry (read
 * from the database file; WAL lets a reader in beside the server). A job that keeps up keeps this
 * under about one interval.
 */
export function sampleOverdue(dataDir: string) {
  const db = new Database(join(dataDir, "storage-brain.db"), { readonly: true });
  const q = db.query(
    "SELECT count(*) AS n, min(upload_expires_at) AS oldest FROM files WHERE reserved_bytes > 0 AND processing_status = 'pending' AND upload_expires_at <= ?",
  );
  let maxCount = 0;
  let maxOverdueMs = 0;
  return {
    sample() {
      const now = Date.now();
      const r = q.get(now) as { n: number; oldest: number | null };
      maxCount = Math.max(maxCount, r.n);
      if (r.oldest !== null) maxOverdueMs = Math.max(maxOverdueMs, now - r.oldest);
    },
    result() {
      db.close();
      return { maxCount, maxOverdueMs };
    },
  };
}
