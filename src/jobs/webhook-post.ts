import http from "node:http";
import https from "node:https";

/** Reads at most this much of a receiver's answer; the rest is cut off. */
const MAX_RESPONSE_BYTES = 16 * 1024;

export interface PinnedPost {
  url: URL;
  /** The address that was checked: the connection goes there and nowhere else. */
  address: { address: string; family: 4 | 6 };
  headers: Record<string, string>;
  body: string;
  timeoutMs: number;
}

/**
 * POSTs to `url` over a connection to the pinned address: node:http(s) asks our `lookup` instead
 * of DNS, so the Host header, TLS SNI and certificate check all use the URL's name while the
 * socket goes to the address the SSRF guard approved (fetch has no lookup hook; node:http's is
 * honoured by Bun). No agent: each attempt is one fresh connection, never a pooled socket that
 * was opened for another answer. Redirects are not followed. Resolves with the status code after
 * reading at most 16 KiB of the answer; rejects on network errors and on timeout ("TimeoutError").
 */
export function postPinned(p: PinnedPost): Promise<number> {
  const mod = p.url.protocol === "https:" ? https : http;
  const { address, family } = p.address;
  return new Promise<number>((resolve, reject) => {
    let settled = false;
    const done = (err: Error | null, status?: number) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      if (err) reject(err);
      else resolve(status!);
    };
    const req = mod.request(
      p.url,
      {
        method: "POST",
        agent: false,
        headers: { ...p.headers, "content-length": String(Buffer.byteLength(p.body)) },
        lookup: ((_host: string, opts: { all?: boolean }, cb: (...args: unknown[]) => void) =>
          opts?.all ? cb(null, [{ address, family }]) : cb(null, address, family)) as never,
      },
      (res) => {
        let n = 0;
        res.on("data", (chunk: Buffer) => {
          n += chunk.length;
          if (n >= MAX_RESPONSE_BYTES) {
            res.destroy();
            done(null, res.statusCode ?? 0);
          }
        });
        res.on("end", () => done(null, res.statusCode ?? 0));
        res.on("error", (err) => done(err));
      },
    );
    const timer = setTimeout(() => {
      const err = new Error(`timed out after ${p.timeoutMs} ms`);
      err.name = "TimeoutError";
      req.destroy(err);
      done(err);
    }, p.timeoutMs);
    req.on("error", (err) => done(err));
    req.end(p.body);
  });
}
