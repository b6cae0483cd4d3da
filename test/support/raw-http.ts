import { connect } from "node:net";

export interface RawResponse {
  status: number;
  /** Header names lower-cased; repeated headers joined with ", ". */
  headers: Record<string, string>;
  /** The body bytes as framed on the wire (chunk framing removed if chunked). */
  body: Uint8Array;
  chunked: boolean;
}

/**
 * One HTTP/1.1 request on a fresh socket (`Connection: close`), the response read raw: what
 * `fetch` hides (Transfer-Encoding, whether Content-Length was sent) is visible here.
 */
export function rawRequest(
  baseUrl: string,
  method: string,
  path: string,
  headers: Record<string, string> = {},
): Promise<RawResponse> {
  const { hostname, port } = new URL(baseUrl);
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    const socket = connect(Number(port), hostname, () => {
      const lines = [`${method} ${path} HTTP/1.1`, `Host: ${hostname}:${port}`, "Connection: close"];
      for (const [k, v] of Object.entries(headers)) lines.push(`${k}: ${v}`);
      socket.write(`${lines.join("\r\n")}\r\n\r\n`);
    });
    socket.on("data", (c: Buffer) => chunks.push(c));
    socket.on("error", reject);
    socket.on("close", () => {
      const all = Buffer.concat(chunks);
      const end = all.indexOf("\r\n\r\n");
      if (end < 0) return reject(new Error(`no response head: ${all.toString("latin1").slice(0, 200)}`));
      const [statusLine, ...headerLines] = all.subarray(0, end).toString("latin1").split("\r\n");
      const out: Record<string, string> = {};
      for (const l of headerLines) {
        const i = l.indexOf(":");
        const k = l.slice(0, i).trim().toLowerCase();
        const v = l.slice(i + 1).trim();
        out[k] = out[k] === undefined ? v : `${out[k]}, ${v}`;
      }
      const chunked = /chunked/i.test(out["transfer-encoding"] ?? "");
      let body: Buffer = all.subarray(end + 4);
      if (chunked) body = unchunk(body);
      resolve({ status: Number(statusLine?.split(" ")[1]), headers: out, body: new Uint8Array(body), chunked });
    });
  });
}

function unchunk(buf: Buffer): Buffer {
  const parts: Buffer[] = [];
  let at = 0;
  for (;;) {
    const eol = buf.indexOf("\r\n", at);
    if (eol < 0) break;
    const size = Number.parseInt(buf.subarray(at, eol).toString("latin1"), 16);
    if (!size) break;
    parts.push(buf.subarray(eol + 2, eol + 2 + size));
    at = eol + 2 + size + 2;
  }
  return Buffer.concat(parts);
}
