import { createServer, type IncomingMessage, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";

/** What the server's fetch handler gets besides the request (the shape `Bun.serve` passes too). */
export interface PeerInfo {
  requestIP(request: Request): { address: string } | null;
}

export type FetchHandler = (request: Request, peer: PeerInfo) => Promise<Response> | Response;

export interface NodeServeOptions {
  port: number;
  hostname: string;
  fetch: FetchHandler;
  /** A declared Content-Length above this is refused with 413 before any body byte is read. */
  maxRequestBodySize: number;
  /** A connection with no traffic for this long is closed. */
  idleTimeoutSeconds: number;
}

export interface NodeServer {
  port: number;
  hostname: string;
  /** Stops accepting; resolves once in-flight requests have finished. */
  stop(): Promise<void>;
}

/** How long a stopping server keeps idle keep-alive connections open for requests in transit. */
const STOP_GRACE_MS = 1000;

/**
 * Serves a fetch-style handler (Elysia's `app.fetch`) over `node:http` instead of `Bun.serve`.
 *
 * Why: `Bun.serve` drops a handler's Content-Length whenever the body is a ReadableStream and
 * sends `Transfer-Encoding: chunked` instead (oven-sh/bun#10507; re-tested on Bun 1.4.5: a
 * ReadableStream, a "direct" stream, an async generator and a node Readable all lose it). Every download
 * here is a decrypting stream whose length is known before the first byte, and clients need
 * that length (progress bars, telling a cut download from a finished one). node:http writes the
 * handler's Content-Length as given. See docs/decisions.md.
 *
 * Contract kept from Bun.serve: `request.signal` aborts when the client goes away before the
 * response is finished (downloads stop reading); a request body cut by the client errors its
 * stream; HEAD answers carry the GET's headers and no body; bodies without a declared length
 * (JSON, text) are sent with one.
 *
 * Cost: node:http allocates an IncomingMessage and a ServerResponse per request; measured on
 * GET /files/:id (bench/profile.ts) that roughly doubles the server CPU per request against
 * Bun.serve. So the adapter itself stays lean: headers taken from node's parsed object, the
 * answer's head and a non-stream body written in one native call.
 */
export function serveNode(opts: NodeServeOptions): Promise<NodeServer> {
  let stopping = false;
  const server = createServer((req, res) => {
    // While stopping, every answer closes its connection (see stop()).
    if (stopping) res.shouldKeepAlive = false;
    void handle(req, res, opts, () => stopping);
  });
  server.keepAliveTimeout = opts.idleTimeoutSeconds * 1000;
  server.headersTimeout = 60_000;
  server.requestTimeout = 0; // long uploads and downloads are fine while bytes move
  server.setTimeout(opts.idleTimeoutSeconds * 1000, (socket) => socket.destroy());
  return new Promise((resolve, reject) => {
    server.once("error", reject);
    server.listen(opts.port, opts.hostname, () => {
      const a = server.address() as AddressInfo;
      resolve({
        port: a.port,
        hostname: opts.hostname,
        stop: () =>
          new Promise<void>((done) => {
            // Answers from now on close their connection. For a short grace the server still
            // accepts and serves: a client may already be connecting, or sending on an idle
            // keep-alive connection (closing either then would cut that request). Then it stops
            // accepting, closes idle connections, and resolves when the last request is done.
            stopping = true;
            let sweep: ReturnType<typeof setInterval> | undefined;
            setTimeout(() => {
              server.close(() => {
                clearInterval(sweep);
                done();
              });
              server.closeIdleConnections();
              sweep = setInterval(() => server.closeIdleConnections(), 250);
            }, STOP_GRACE_MS);
          }),
      });
    });
  });
}

const ignore = () => {};

async function handle(req: IncomingMessage, res: ServerResponse, opts: NodeServeOptions, stopping: () => boolean) {
  requestArrived();
  const method = req.method ?? "GET";
  const hasBody = method !== "GET" && method !== "HEAD";
  if (hasBody && Number(req.headers["content-length"] ?? 0) > opts.maxRequestBodySize) {
    res.writeHead(413, { "content-type": "application/json", connection: "close" });
    res.end(JSON.stringify({ error: { code: "PAYLOAD_TOO_LARGE", message: "Request body too large", details: {} } }));
    req.on("error", ignore);
    requestBody(req).discardRest();
    return;
  }
  // A client that disconnects makes req/res emit 'error'; unhandled, that would end the process.
  // The body stream and the abort signal below carry the fact to the app.
  req.on("error", ignore);
  res.on("error", ignore);
  const aborter = new AbortController();
  res.once("close", () => {
    if (!res.writableFinished) aborter.abort();
  });
  const body = hasBody ? requestBody(req) : null;
  // A fixed origin, not the Host header: nothing here depends on it (generated URLs use
  // PUBLIC_URL), and Elysia finds the path at a fixed offset, which a short Host ("x") breaks.
  // Headers from node's parsed object (repeated headers joined, cookies with "; ").
  const request = new Request(`http://localhost${req.url?.startsWith("/") ? req.url : "/"}`, {
    method,
    headers: req.headers as Record<string, string>,
    body: body?.stream,
    signal: aborter.signal,
  });
  const address = req.socket.remoteAddress;
  const peer: PeerInfo = { requestIP: () => (address ? { address } : null) };
  let response: Response;
  try {
    response = await opts.fetch(request, peer);
  } catch {
    response = new Response(
      JSON.stringify({ error: { code: "INTERNAL_ERROR", message: "Internal server error", details: {} } }),
      { status: 500, headers: { "content-type": "application/json" } },
    );
  }
  // A body the app did not read (refused before reading: 401, 413) is not worth receiving: the
  // connection is not reused, and what is still in flight is discarded up to a small budget.
  const unread = body !== null && !req.complete;
  await send(res, method, response, stopping() || unread);
  if (unread) body.discardRest();
}

/** Bytes of an unread body drained (and dropped) after the answer before the socket is cut. */
const DISCARD_BUDGET = 1024 * 1024;

/**
 * The request body as a web stream, read only as fast as the app pulls (backpressure through
 * pause/resume). A connection that ends before the body is complete errors the stream, which
 * the app reports as a client abort. `discardRest()` detaches the app and drops what is left.
 */
function requestBody(req: IncomingMessage) {
  let ctl!: ReadableStreamDefaultController<Uint8Array>;
  const onData = (chunk: Buffer) => {
    ctl.enqueue(new Uint8Array(chunk.buffer, chunk.byteOffset, chunk.byteLength));
    if ((ctl.desiredSize ?? 0) <= 0) req.pause();
  };
  const onEnd = () => settle(() => ctl.close());
  const onError = (err: Error) => settle(() => ctl.error(err));
  const onClose = () => {
    if (!req.complete) settle(() => ctl.error(new Error("the client closed the connection mid-body")));
  };
  let settled = false;
  const settle = (fn: () => void) => {
    if (settled) return;
    settled = true;
    detach();
    try {
      fn();
    } catch {
      // the app already cancelled the stream
    }
  };
  const detach = () => {
    req.off("data", onData);
    req.off("end", onEnd);
    req.off("error", onError);
    req.off("close", onClose);
  };
  const stream = new ReadableStream<Uint8Array>(
    {
      start(c) {
        ctl = c;
        req.pause();
        req.on("data", onData);
        req.on("end", onEnd);
        req.on("error", onError);
        req.on("close", onClose);
      },
      pull() {
        req.resume();
      },
      cancel() {
        settled = true;
        detach();
      },
    },
    new ByteLengthQueuingStrategy({ highWaterMark: 256 * 1024 }),
  );
  return {
    stream,
    discardRest() {
      settled = true;
      detach();
      if (req.complete) return;
      let dropped = 0;
      req.on("data", (chunk: Buffer) => {
        dropped += chunk.byteLength;
        if (dropped > DISCARD_BUDGET) req.socket.destroy();
      });
      req.on("error", () => {});
      req.resume();
    },
  };
}

/**
 * Writes `response`. A body without a Content-Length is read whole and sent with its length in
 * one write (the app's JSON and text answers; every stream here — downloads — declares its
 * length, see download.ts): one native write of head and body, no stream machinery per answer.
 * A body with a Content-Length is streamed as it comes, with backpressure.
 */
async function send(res: ServerResponse, method: string, response: Response, close: boolean) {
  const head: string[] = [];
  for (const [k, v] of response.headers) head.push(k, v); // set-cookie comes once per cookie
  if (close) head.push("connection", "close");
  const status = response.status;
  if (method === "HEAD" || status === 204 || status === 304) {
    response.body?.cancel().catch(ignore);
    res.writeHead(status, head);
    res.end();
    return;
  }
  if (!response.headers.has("content-length")) {
    let bytes: Uint8Array;
    try {
      bytes = await response.bytes();
    } catch {
      res.destroy();
      return;
    }
    head.push("content-length", String(bytes.byteLength));
    if (turnEnd) await turnEnd;
    if (res.destroyed) return;
    res.writeHead(status, head);
    res.end(bytes);
    return;
  }
  res.writeHead(status, head);
  const stream = response.body;
  if (!stream) {
    res.end();
    return;
  }
  const reader = stream.getReader();
  res.once("close", () => {
    if (!res.writableFinished) reader.cancel().catch(ignore);
  });
  try {
    for (;;) {
      const r = await reader.read();
      if (r.done) break;
      await write(res, r.value);
    }
    res.end();
  } catch {
    // The body failed mid-way (storage error, client gone): the length can no longer be honoured,
    // so the connection is cut and the client sees a truncated response, never a "complete" one.
    res.destroy();
  }
}

/** The end of the current event-loop turn while requests arrive in it (`requestArrived`); else null. */
let turnEnd: Promise<void> | null = null;

/**
 * Notes that a request arrived in this turn: buffered answers that are ready before the turn ends
 * wait for its end (one setImmediate for the whole turn) and are then written together, after all
 * of the turn's requests were handled. Answers produced later, at the end of a turn (uploads are
 * answered after the COMMIT their turn's writes share), find it passed or about to pass and are
 * not held for another turn. Measured (bench/profile.ts, builds interleaved, 7 rounds):
 * `GET /files/:id` 0.054-0.057 → 0.043-0.047 server CPU-ms per request, +20-30 % req/s, every
 * round; `/health`, which reads no database, gained nothing (docs/decisions.md, "Answers wait for
 * the end of the turn").
 */
function requestArrived(): void {
  turnEnd ??= new Promise((resolve) =>
    setImmediate(() => {
      turnEnd = null;
      resolve();
    }),
  );
}

function write(res: ServerResponse, chunk: Uint8Array): Promise<void> | undefined {
  if (res.destroyed) throw new Error("client went away");
  if (res.write(chunk)) return;
  return new Promise<void>((resolve, reject) => {
    const done = () => {
      res.off("drain", done);
      res.off("close", gone);
      resolve();
    };
    const gone = () => {
      res.off("drain", done);
      reject(new Error("client went away"));
    };
    res.once("drain", done);
    res.once("close", gone);
  });
}
