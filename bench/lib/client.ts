/** The bench's HTTP client side: Storage Brain's two-step upload, raw PUTs, body-draining GETs. */
import { closeSync, openSync, writeSync } from "node:fs";

/**
 * PNG signature, then an IHDR chunk (13 data bytes + CRC) and an IDAT chunk header. The server's
 * type check (file-type) walks PNG chunks after the signature: with random bytes there it reads a
 * random chunk length and rejects the file about half the time, so the chunk structure is needed.
 */
export const PNG_MAGIC = [
  0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 0, 0, 0, 13, 0x49, 0x48, 0x44, 0x52, 0, 0, 1, 0, 0, 0, 1, 0, 8, 6, 0,
  0, 0, 0x5c, 0x72, 0xa8, 0x66, 0, 0x10, 0, 0, 0x49, 0x44, 0x41, 0x54,
];

/** Writes a `size`-byte file that starts with the PNG signature (random bytes after it). */
export function makePngFile(path: string, size: number) {
  const fd = openSync(path, "w");
  const chunk = new Uint8Array(4 * 1024 * 1024);
  for (let off = 0; off < size; off += chunk.byteLength) {
    for (let i = 0; i < chunk.byteLength; i += 65536) crypto.getRandomValues(chunk.subarray(i, i + 65536));
    if (off === 0) chunk.set(PNG_MAGIC);
    writeSync(fd, chunk, 0, Math.min(chunk.byteLength, size - off));
  }
  closeSync(fd);
}

export function pngBytes(size: number): Uint8Array {
  const b = new Uint8Array(size);
  crypto.getRandomValues(b);
  b.set(PNG_MAGIC);
  return b;
}

export interface Api {
  base: string;
  apiKey: string;
}

/** POST /upload/request then PUT the body to the presigned URL; throws unless completed. */
export async function upload(
  api: Api,
  body: Blob | Uint8Array,
  size: number,
  name: string,
): Promise<{ fileId: string; requestMs: number; putMs: number }> {
  const auth = { authorization: `Bearer ${api.apiKey}` };
  const t0 = performance.now();
  const res = await fetch(`${api.base}/api/v1/upload/request`, {
    method: "POST",
    headers: { ...auth, "content-type": "application/json" },
    body: JSON.stringify({ fileType: "image/png", fileName: name, fileSizeBytes: size }),
  });
  const req = (await res.json()) as { fileId: string; presignedUrl: string };
  if (res.status !== 200) throw new Error(`upload request ${res.status}: ${JSON.stringify(req)}`);
  const t1 = performance.now();
  const put = await fetch(api.base + req.presignedUrl, {
    method: "PUT",
    headers: { ...auth, "content-type": "image/png" },
    body,
  });
  const done = (await put.json()) as { processingStatus?: string };
  if (put.status !== 200 || done.processingStatus !== "completed")
    throw new Error(`upload PUT ${put.status}: ${JSON.stringify(done)}`);
  return { fileId: req.fileId, requestMs: t1 - t0, putMs: performance.now() - t1 };
}

/**
 * The storage module's one-request upload: a multipart/form-data POST with the file as part
 * `file` (fetch sends a FormData body with its Content-Length, which the endpoint requires).
 */
export async function uploadMultipart(api: Api, body: Uint8Array, name: string): Promise<void> {
  const form = new FormData();
  form.append("file", new Blob([body as Uint8Array<ArrayBuffer>], { type: "image/png" }), name);
  const res = await fetch(`${api.base}/api/v1/storage/upload`, {
    method: "POST",
    headers: { authorization: `Bearer ${api.apiKey}` },
    body: form,
  });
  const out = (await res.json()) as { name?: string };
  if (res.status !== 200 || !out.name) throw new Error(`storage upload ${res.status}: ${JSON.stringify(out)}`);
}

/**
 * A tus upload in one PATCH (what tus-js-client sends by default) straight from fetch, so what is
 * measured is the server's side of the protocol without the client library's own CPU.
 */
export async function tusUploadOnePatch(api: Api, file: Blob, name: string): Promise<void> {
  const auth = { authorization: `Bearer ${api.apiKey}`, "tus-resumable": "1.0.0" };
  const b64 = (s: string) => Buffer.from(s).toString("base64");
  const created = await fetch(`${api.base}/api/v1/uploads/tus`, {
    method: "POST",
    headers: {
      ...auth,
      "upload-length": String(file.size),
      "upload-metadata": `filename ${b64(name)},filetype ${b64("image/png")}`,
    },
  });
  await created.arrayBuffer();
  if (created.status !== 201) throw new Error(`tus create: ${created.status}`);
  const patched = await fetch(new URL(created.headers.get("location") ?? "", api.base), {
    method: "PATCH",
    headers: { ...auth, "upload-offset": "0", "content-type": "application/offset+octet-stream" },
    body: file,
  });
  await patched.arrayBuffer();
  if (patched.status !== 204) throw new Error(`tus PATCH: ${patched.status}`);
}

/** A plain PUT (ceiling servers). */
export async function put(url: string, body: Blob | Uint8Array): Promise<void> {
  const res = await fetch(url, { method: "PUT", body });
  await res.arrayBuffer();
  if (!res.ok) throw new Error(`PUT ${url}: ${res.status}`);
}

/** GETs `url` and drains the body without keeping it; returns the byte count. */
export async function drain(url: string, headers: Record<string, string> = {}): Promise<number> {
  const res = await fetch(url, { headers });
  if (res.status !== 200 && res.status !== 206) throw new Error(`GET ${url}: ${res.status} ${await res.text()}`);
  let n = 0;
  for await (const chunk of res.body!) n += chunk.byteLength;
  return n;
}

/** Runs `workers` async loops of `fn` until `seconds` pass (or each has done `perWorker` calls). */
export async function loop(
  workers: number,
  opts: { seconds?: number; perWorker?: number },
  fn: (worker: number, i: number) => Promise<void>,
) {
  const end = performance.now() + (opts.seconds ?? Infinity) * 1000;
  const t0 = performance.now();
  await Promise.all(
    Array.from({ length: workers }, async (_, w) => {
      for (let i = 0; i < (opts.perWorker ?? Infinity) && performance.now() < end; i++) await fn(w, i);
    }),
  );
  return performance.now() - t0;
}
