/**
 * The soak's clients: each worker loops over a weighted mix of what real tenants do, checks every
 * answer it can check (bytes by SHA-256 or byte by byte, quota arithmetic, page cursors) and
 * records it in the ledger. Races between workers are expected (a file deleted while another
 * worker downloads it answers 404); a 404 for a file nobody deleted is a lost file.
 */
import { connect } from "node:net";
import { contentRange, logUniformSize, pickWeighted, sha256Hex } from "./content";
import type { Ledger, SoakFile } from "./ledger";

export interface SoakTenant {
  id: string;
  apiKey: string;
  quotaBytes: number;
  workspaces: { id: string; quotaBytes: number | null }[];
}

export interface WorkloadCtx {
  base: string;
  tenants: SoakTenant[];
  ledger: Ledger;
  minSize: number;
  maxSize: number;
  /** performance.now() time the load ends */
  until: number;
  /** overrides of the mix's weights by operation name (--mix abandon=60,tus=0) */
  weights: Record<string, number>;
  /** TUS_EXPIRY_SECONDS of the server: a tus upload is left unfinished only if it can expire before the load ends */
  tusExpirySeconds: number;
}

type Op = (c: WorkloadCtx) => Promise<void>;

interface Answer {
  status: number;
  body: any;
  res: Response | null;
}

const auth = (t: SoakTenant) => ({ authorization: `Bearer ${t.apiKey}` });
const pickTenant = (c: WorkloadCtx) => Math.floor(Math.random() * c.tenants.length);
const rel = (c: WorkloadCtx, url: string) =>
  c.base + (url.startsWith("http") ? url.replace(/^https?:\/\/[^/]+/, "") : url);

/** A JSON request recorded under `op`; null on a network error (recorded too). */
async function call(c: WorkloadCtx, op: string, url: string, init: RequestInit = {}): Promise<Answer | null> {
  const t0 = performance.now();
  try {
    const res = await fetch(url, init);
    const text = await res.text();
    const body = text && res.headers.get("content-type")?.includes("json") ? JSON.parse(text) : text;
    c.ledger.answer(op, res.status, performance.now() - t0, body?.error?.code);
    return { status: res.status, body, res };
  } catch (err) {
    c.ledger.netError(op, performance.now() - t0, err);
    return null;
  }
}

/** POST /upload/request for a random size, workspace or none. */
async function requestUpload(c: WorkloadCtx, op: string, tenant: number) {
  const t = c.tenants[tenant]!;
  const size = logUniformSize(c.minSize, c.maxSize);
  const ws = Math.random() < 0.6 ? t.workspaces[Math.floor(Math.random() * t.workspaces.length)] : undefined;
  const a = await call(c, op, `${c.base}/api/v1/upload/request`, {
    method: "POST",
    headers: { ...auth(t), "content-type": "application/json" },
    body: JSON.stringify({ fileType: "image/png", fileName: "soak.png", fileSizeBytes: size, workspaceId: ws?.id }),
  });
  if (a?.status !== 200) return { a, size, ws, url: null };
  return { a, size, ws, url: rel(c, a.body.presignedUrl as string), fileId: a.body.fileId as string };
}

const upload: Op = async (c) => {
  const tenant = pickTenant(c);
  const r = await requestUpload(c, "upload:request", tenant);
  if (r.a?.status === 403 && r.a.body?.error?.code === "QUOTA_EXCEEDED" && Math.random() < 0.5) {
    return remove(c, tenant); // make room, as a real tenant would
  }
  if (!r.url) return;
  const seed = (Math.random() * 2 ** 31) | 0;
  const bytes = contentRange(seed, 0, r.size);
  const put = await call(c, "upload:put", r.url, {
    method: "PUT",
    headers: { ...auth(c.tenants[tenant]!), "content-type": "image/png" },
    body: bytes,
  });
  if (put?.status !== 200) return;
  c.ledger.bytesUp += r.size;
  if (put.body?.processingStatus !== "completed" || put.body.sizeBytes !== r.size) {
    c.ledger.mismatch("upload:put", `file ${r.fileId}: ${JSON.stringify(put.body).slice(0, 200)}`);
    return;
  }
  c.ledger.files.push({
    id: r.fileId!,
    tenant,
    workspaceId: r.ws?.id ?? null,
    size: r.size,
    seed,
    sha256: sha256Hex(bytes),
    state: "live",
  });
};

/** Requested, never PUT: the expiry job must release its reservation. */
const abandon: Op = async (c) => {
  const r = await requestUpload(c, "abandon:request", pickTenant(c));
  if (r.url) c.ledger.abandoned++;
};

/** Sends the headers and half the body over a raw socket, then drops the connection. */
function cutPut(url: string, headers: Record<string, string>, body: Uint8Array): Promise<void> {
  const u = new URL(url);
  return new Promise((resolve, reject) => {
    const sock = connect(Number(u.port), u.hostname, () => {
      const head = Object.entries({ ...headers, host: u.host, "content-length": String(body.byteLength) })
        .map(([k, v]) => `${k}: ${v}\r\n`)
        .join("");
      sock.write(`PUT ${u.pathname}${u.search} HTTP/1.1\r\n${head}\r\n`);
      sock.write(body.subarray(0, body.byteLength >> 1), () => {
        // Let the server start streaming the body into storage, then cut.
        setTimeout(() => {
          sock.destroy();
          resolve();
        }, 20);
      });
    });
    sock.on("error", reject);
  });
}

const cut: Op = async (c) => {
  const tenant = pickTenant(c);
  const r = await requestUpload(c, "cut:request", tenant);
  if (!r.url) return;
  const t0 = performance.now();
  try {
    await cutPut(r.url, { ...auth(c.tenants[tenant]!), "content-type": "image/png" }, contentRange(1, 0, r.size));
    c.ledger.netError("cut:put", performance.now() - t0, null, true);
    c.ledger.abandoned++;
  } catch (err) {
    c.ledger.netError("cut:put", performance.now() - t0, err);
  }
};

const b64 = (v: string) => Buffer.from(v).toString("base64");
const TUS_CHUNK = 2 * 1024 * 1024;

/**
 * A tus 1.0 upload in chunks of 2 MiB: most finish (and join the ledger, their bytes checked by
 * later downloads), some are terminated halfway (DELETE releases the reservation at once), and
 * some are left halfway for the expiry to end, while their expiry still falls inside the load.
 */
const tus: Op = async (c) => {
  const tenant = pickTenant(c);
  const t = c.tenants[tenant]!;
  const size = logUniformSize(c.minSize, c.maxSize);
  const ws = Math.random() < 0.5 ? t.workspaces[Math.floor(Math.random() * t.workspaces.length)] : undefined;
  const meta = [`filename ${b64("soak.png")}`, `filetype ${b64("image/png")}`];
  if (ws) meta.push(`workspaceId ${b64(ws.id)}`);
  const h = { ...auth(t), "tus-resumable": "1.0.0" };
  const created = await call(c, "tus:create", `${c.base}/api/v1/uploads/tus`, {
    method: "POST",
    headers: { ...h, "upload-length": String(size), "upload-metadata": meta.join(",") },
  });
  if (created?.status !== 201) return;
  const location = created.res?.headers.get("location") ?? "";
  const fileId = location.slice(location.lastIndexOf("/") + 1);
  const r = Math.random();
  const canExpire = performance.now() + (c.tusExpirySeconds + 5) * 1000 < c.until;
  const stopAt = r < 0.15 || (r < 0.25 && canExpire) ? size >> 1 : size;
  const seed = (Math.random() * 2 ** 31) | 0;
  for (let offset = 0; offset < stopAt; ) {
    const end = Math.min(stopAt, offset + TUS_CHUNK);
    const a = await call(c, "tus:patch", rel(c, location), {
      method: "PATCH",
      headers: { ...h, "content-type": "application/offset+octet-stream", "upload-offset": String(offset) },
      body: contentRange(seed, offset, end),
    });
    if (a?.status !== 204) return;
    c.ledger.bytesUp += end - offset;
    offset = end;
  }
  if (stopAt < size) {
    if (r < 0.15) await call(c, "tus:terminate", rel(c, location), { method: "DELETE", headers: h });
    else c.ledger.abandoned++;
    return;
  }
  const f = await call(c, "tus:file", `${c.base}/api/v1/files/${fileId}`, { headers: auth(t) });
  if (f?.status !== 200) return;
  if (f.body.processingStatus !== "completed" || f.body.sizeBytes !== size) {
    c.ledger.mismatch("tus:file", `file ${fileId}: ${JSON.stringify(f.body).slice(0, 200)}`);
    return;
  }
  const hasher = new Bun.CryptoHasher("sha256");
  for (let o = 0; o < size; o += TUS_CHUNK) hasher.update(contentRange(seed, o, Math.min(size, o + TUS_CHUNK)));
  c.ledger.files.push({
    id: fileId,
    tenant,
    workspaceId: ws?.id ?? null,
    size,
    seed,
    sha256: hasher.digest("hex"),
    state: "live",
  });
};

/** GETs a file (whole or a range) and compares it with what was uploaded. */
async function fetchAndVerify(
  c: WorkloadCtx,
  op: string,
  url: string,
  f: SoakFile,
  init: RequestInit,
  range?: [number, number],
) {
  const t0 = performance.now();
  let res: Response;
  try {
    res = await fetch(url, init);
  } catch (err) {
    c.ledger.netError(op, performance.now() - t0, err);
    return;
  }
  if (res.status !== 200 && res.status !== 206) {
    const body = (await res.json().catch(() => null)) as { error?: { code?: string } } | null;
    c.ledger.answer(op, res.status, performance.now() - t0, body?.error?.code);
    if (res.status === 404 && f.state === "live") c.ledger.mismatch(op, `file ${f.id} is live but answered 404`);
    return;
  }
  try {
    if (range) {
      const got = new Uint8Array(await res.arrayBuffer());
      c.ledger.answer(op, res.status, performance.now() - t0);
      const want = contentRange(f.seed, range[0], range[1] + 1);
      const cr = res.headers.get("content-range");
      if (res.status !== 206 || cr !== `bytes ${range[0]}-${range[1]}/${f.size}`)
        c.ledger.mismatch(op, `file ${f.id}: status ${res.status}, content-range ${cr}, asked ${range}`);
      else if (got.byteLength !== want.byteLength || !Buffer.from(got).equals(Buffer.from(want)))
        c.ledger.mismatch(op, `file ${f.id}: bytes differ in ${range}`);
      c.ledger.bytesDown += got.byteLength;
    } else {
      const h = new Bun.CryptoHasher("sha256");
      let n = 0;
      for await (const chunk of res.body!) {
        h.update(chunk);
        n += chunk.byteLength;
      }
      c.ledger.answer(op, res.status, performance.now() - t0);
      const sha = h.digest("hex");
      if (n !== f.size || sha !== f.sha256) c.ledger.mismatch(op, `file ${f.id}: ${n} bytes, sha ${sha}`);
      c.ledger.bytesDown += n;
    }
  } catch (err) {
    c.ledger.netError(op, performance.now() - t0, err);
  }
}

const download: Op = async (c) => {
  const f = c.ledger.randomLive();
  if (!f) return upload(c);
  await fetchAndVerify(c, "download", `${c.base}/api/v1/files/${f.id}/download`, f, {
    headers: auth(c.tenants[f.tenant]!),
  });
};

const range: Op = async (c) => {
  const f = c.ledger.randomLive();
  if (!f) return upload(c);
  const len = Math.min(f.size, 1 + Math.floor(Math.random() * 256 * 1024));
  const start = Math.floor(Math.random() * (f.size - len + 1));
  const end = start + len - 1;
  await fetchAndVerify(
    c,
    "range",
    `${c.base}/api/v1/files/${f.id}/download`,
    f,
    {
      headers: { ...auth(c.tenants[f.tenant]!), range: `bytes=${start}-${end}` },
    },
    [start, end],
  );
};

const signed: Op = async (c) => {
  const f = c.ledger.randomLive();
  if (!f) return upload(c);
  const a = await call(c, "signed:url", `${c.base}/api/v1/files/${f.id}/signed-url?expiresIn=300`, {
    headers: auth(c.tenants[f.tenant]!),
  });
  if (a?.status === 404 && f.state === "live") c.ledger.mismatch("signed:url", `file ${f.id} is live but answered 404`);
  if (a?.status !== 200) return;
  await fetchAndVerify(c, "signed:get", rel(c, a.body.url), f, {}); // no Authorization header
};

/** Walks up to 4 pages with the cursor; a file seen twice across pages is a broken cursor. */
const list: Op = async (c) => {
  const t = c.tenants[pickTenant(c)]!;
  const ws = Math.random() < 0.5 ? t.workspaces[0] : undefined;
  const seen = new Set<string>();
  let cursor: string | null = null;
  for (let page = 0; page < 4; page++) {
    const q = new URLSearchParams({ limit: "25" });
    if (ws) q.set("workspaceId", ws.id);
    if (cursor) q.set("cursor", cursor);
    const a = await call(c, "list", `${c.base}/api/v1/files?${q}`, { headers: auth(t) });
    if (a?.status !== 200) return;
    for (const f of a.body.files as { id: string; workspaceId: string | null }[]) {
      if (seen.has(f.id)) c.ledger.mismatch("list", `file ${f.id} on two pages`);
      if (ws && f.workspaceId !== ws.id) c.ledger.mismatch("list", `file ${f.id} outside workspace ${ws.id}`);
      seen.add(f.id);
    }
    cursor = a.body.nextCursor;
    if (!cursor) return;
  }
};

async function remove(c: WorkloadCtx, tenant?: number) {
  const f = c.ledger.randomLive(tenant);
  if (!f) return;
  f.state = "deleting";
  const a = await call(c, "delete", `${c.base}/api/v1/files/${f.id}`, {
    method: "DELETE",
    headers: auth(c.tenants[f.tenant]!),
  });
  if (a?.status === 200) f.state = "deleted";
  else if (a?.status === 404) c.ledger.mismatch("delete", `file ${f.id} was live but answered 404`);
  else f.state = "live";
}

const del: Op = (c) => remove(c);

const quota: Op = async (c) => {
  const t = c.tenants[pickTenant(c)]!;
  const a = await call(c, "quota", `${c.base}/api/v1/tenant/quota`, { headers: auth(t) });
  if (a?.status === 200) c.ledger.quotaAnswer(`tenant ${t.id}`, a.body);
  const ws = t.workspaces[Math.floor(Math.random() * t.workspaces.length)]!;
  const w = await call(c, "quota", `${c.base}/api/v1/workspaces/${ws.id}`, { headers: auth(t) });
  if (w?.status === 200) c.ledger.quotaAnswer(`workspace ${ws.id}`, w.body);
};

/** The mix: relative weights per operation. */
const MIX: [string, Op, number][] = [
  ["upload", upload, 20],
  ["abandon", abandon, 36],
  ["cut", cut, 8],
  ["tus", tus, 6],
  ["download", download, 12],
  ["range", range, 12],
  ["signed", signed, 6],
  ["list", list, 6],
  ["delete", del, 10],
  ["quota", quota, 8],
];

/** One worker: runs the mix until `until` (performance.now() time). */
export async function worker(c: WorkloadCtx): Promise<void> {
  const weights = MIX.map(([name, , w]) => c.weights[name] ?? w);
  while (performance.now() < c.until) await MIX[pickWeighted(weights)]![1](c);
}
