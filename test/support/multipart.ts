/** Builds a multipart/form-data body by hand (so tests control part order and headers exactly). */
export function multipartBody(
  fields: Record<string, string>,
  file?: {
    name: string;
    type: string;
    bytes: Uint8Array /** send the name as RFC 5987 `filename*` */;
    extended?: boolean;
  },
  boundary = `----sbtest${Math.random().toString(16).slice(2)}`,
) {
  const enc = new TextEncoder();
  const parts: Uint8Array[] = [];
  for (const [k, v] of Object.entries(fields))
    parts.push(enc.encode(`--${boundary}\r\nContent-Disposition: form-data; name="${k}"\r\n\r\n${v}\r\n`));
  if (file) {
    parts.push(
      enc.encode(
        `--${boundary}\r\nContent-Disposition: form-data; name="file"; ${file.extended ? `filename*=UTF-8''${[...new TextEncoder().encode(file.name)].map((b) => `%${b.toString(16).padStart(2, "0")}`).join("")}` : `filename="${file.name}"`}\r\nContent-Type: ${file.type}\r\n\r\n`,
      ),
    );
    parts.push(file.bytes);
    parts.push(enc.encode("\r\n"));
  }
  parts.push(enc.encode(`--${boundary}--\r\n`));
  const body = new Uint8Array(parts.reduce((n, p) => n + p.byteLength, 0));
  let off = 0;
  for (const p of parts) {
    body.set(p, off);
    off += p.byteLength;
  }
  return { body, contentType: `multipart/form-data; boundary=${boundary}` };
}
