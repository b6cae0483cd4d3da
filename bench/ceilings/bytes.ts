/**
 * Ceiling for uploads and downloads: a bare Bun.serve with no framework, auth or database.
 *   PUT /plain/:name  body → file in 1 MiB batched writes, fsync, rename (what any durable store does)
 *   PUT /enc/:name    the same, each 1 MiB segment AES-256-GCM encrypted (WebCrypto, tag appended)
 *   PUT /enchash/:name  the same as /enc plus a SHA-256 of the plaintext (Bun.CryptoHasher, as the
 *                     server computes for the ETag): the fair ceiling for the server's upload CPU
 *   GET /plain/:name  Bun.file (sendfile), single Range supported
 *   GET /dec/:name    reads and decrypts the /enc object segment by segment (node:crypto, as the
 *                     server does: cheaper than WebCrypto on Bun 1.4), single Range supported
 * The segment format matches src/storage/crypto.ts (nonce = index u64 BE + final flag u32 BE).
 */
import { createDecipheriv } from "node:crypto";
import { open, rename } from "node:fs/promises";
import { join } from "node:path";

const DIR = process.env.CEILING_DIR!;
const SEG = 1024 * 1024;
const TAG = 16;
const raw = crypto.getRandomValues(new Uint8Array(32));
const key = await crypto.subtle.importKey("raw", raw, "AES-GCM", false, ["encrypt"]);

function nonce(index: number, final: boolean) {
  const n = new Uint8Array(12);
  const v = new DataView(n.buffer);
  v.setBigUint64(0, BigInt(index));
  v.setUint32(8, final ? 1 : 0);
  return n;
}

async function writeAll(fh: Awaited<ReturnType<typeof open>>, bytes: Uint8Array) {
  for (let off = 0; off < bytes.byteLength; ) off += (await fh.write(bytes, off, bytes.byteLength - off)).bytesWritten;
}

async function receive(req: Request, path: string, encrypt: boolean, hash: boolean): Promise<Response> {
  const hasher = hash ? new Bun.CryptoHasher("sha256") : null;
  const size = Number(req.headers.get("content-length"));
  const tmp = `${path}.${crypto.randomUUID()}.tmp`;
  const fh = await open(tmp, "w", 0o600);
  const buf = new Uint8Array(SEG);
  let fill = 0;
  let total = 0;
  let index = 0;
  const flush = async () => {
    const plain = buf.subarray(0, fill);
    hasher?.update(plain);
    const out = encrypt
      ? new Uint8Array(await crypto.subtle.encrypt({ name: "AES-GCM", iv: nonce(index, total === size) }, key, plain))
      : plain;
    await writeAll(fh, out);
    index++;
    fill = 0;
  };
  for await (const chunk of req.body!) {
    for (let off = 0; off < chunk.byteLength; ) {
      const n = Math.min(SEG - fill, chunk.byteLength - off);
      buf.set(chunk.subarray(off, off + n), fill);
      fill += n;
      off += n;
      total += n;
      if (fill === SEG) await flush();
    }
  }
  if (fill > 0 || total === 0) await flush();
  await fh.sync();
  await fh.close();
  await rename(tmp, path);
  return Response.json({ size: total, sha256: hasher?.digest("hex") });
}

/** Parses a single `bytes=a-b` / `bytes=a-` range; null = whole object. */
function range(req: Request, size: number): [number, number] | null {
  const m = /^bytes=(\d+)-(\d*)$/.exec(req.headers.get("range") ?? "");
  if (!m) return null;
  return [Number(m[1]), Math.min(size - 1, m[2] ? Number(m[2]) : size - 1)];
}

function sendPlain(req: Request, path: string): Response {
  const file = Bun.file(path);
  const r = range(req, file.size);
  if (!r) return new Response(file);
  return new Response(file.slice(r[0], r[1] + 1), {
    status: 206,
    headers: { "content-range": `bytes ${r[0]}-${r[1]}/${file.size}` },
  });
}

async function sendDecrypted(req: Request, path: string): Promise<Response> {
  const fh = await open(path, "r");
  const encSize = (await fh.stat()).size;
  const segments = Math.ceil(encSize / (SEG + TAG));
  const plainSize = encSize - segments * TAG;
  const [start, end] = range(req, plainSize) ?? [0, plainSize - 1];
  let index = Math.floor(start / SEG);
  const last = Math.floor(end / SEG);
  const body = new ReadableStream<Uint8Array>({
    async pull(controller) {
      const encLen = Math.min(SEG + TAG, encSize - index * (SEG + TAG));
      const enc = new Uint8Array(encLen);
      await fh.read(enc, 0, encLen, index * (SEG + TAG));
      const d = createDecipheriv("aes-256-gcm", raw, nonce(index, index === segments - 1));
      d.setAuthTag(enc.subarray(encLen - TAG));
      const plain = d.update(enc.subarray(0, encLen - TAG));
      d.final();
      const segStart = index * SEG;
      controller.enqueue(plain.subarray(Math.max(0, start - segStart), Math.min(plain.byteLength, end - segStart + 1)));
      if (index++ === last) {
        controller.close();
        await fh.close();
      }
    },
    async cancel() {
      await fh.close();
    },
  });
  const headers: Record<string, string> = { "content-length": String(end - start + 1) };
  if (req.headers.has("range")) headers["content-range"] = `bytes ${start}-${end}/${plainSize}`;
  return new Response(body, { status: req.headers.has("range") ? 206 : 200, headers });
}

const server = Bun.serve({
  port: Number(process.env.PORT),
  hostname: "127.0.0.1",
  maxRequestBodySize: 200 * 1024 * 1024,
  idleTimeout: 120,
  async fetch(req) {
    const [, kind, name] = new URL(req.url).pathname.split("/");
    if (kind === "health") return new Response("ok");
    if (!name || !/^[\w-]+$/.test(name)) return new Response("bad name", { status: 400 });
    if (req.method === "PUT" && (kind === "plain" || kind === "enc" || kind === "enchash"))
      return receive(req, join(DIR, `${kind}-${name}`), kind !== "plain", kind === "enchash");
    if (req.method === "GET" && kind === "plain") return sendPlain(req, join(DIR, `plain-${name}`));
    if (req.method === "GET" && kind === "dec") return sendDecrypted(req, join(DIR, `enc-${name}`));
    return new Response("not found", { status: 404 });
  },
});
console.log(`bytes ceiling on ${server.port}`);
