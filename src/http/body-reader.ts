import { AppError, validation } from "../domain/shared/errors";

/**
 * Every non-streaming request body is read here, and only here: it replaces Elysia's own body
 * parsing (see plugins/auth.ts, which calls it from a parse hook after the key was accepted).
 *
 * The cap counts the bytes actually read, whatever the Content-Length says or whether there is
 * one at all (chunked bodies): the read stops at `maxBytes + 1` and answers 413, so a hostile
 * client can make the server hold at most `maxBytes` plus one network chunk per request.
 */
export const MAX_BODY_BYTES = 256 * 1024;

export const payloadTooLarge = (maxBytes: number) =>
  new AppError("PAYLOAD_TOO_LARGE", `Request bodies are limited to ${maxBytes} bytes`, { maxBytes });

/** Reads the whole body into memory, refusing it (413) past `maxBytes`. */
export async function readCapped(request: Request, maxBytes = MAX_BODY_BYTES): Promise<Uint8Array> {
  const declared = request.headers.get("content-length");
  if (declared !== null && Number(declared) > maxBytes) {
    await request.body?.cancel().catch(() => {});
    throw payloadTooLarge(maxBytes);
  }
  if (!request.body) return new Uint8Array(0);
  const reader = request.body.getReader();
  const chunks: Uint8Array[] = [];
  let total = 0;
  try {
    for (;;) {
      let r: Awaited<ReturnType<typeof reader.read>>;
      try {
        r = await reader.read();
      } catch (err) {
        throw validation(`The request body ended unexpectedly: ${(err as Error)?.message ?? "connection lost"}`);
      }
      if (r.done) break;
      total += r.value.byteLength;
      if (total > maxBytes) throw payloadTooLarge(maxBytes);
      chunks.push(r.value);
    }
  } finally {
    // Stops the transfer on 413 (and is a no-op once the body was read to its end).
    reader.cancel().catch(() => {});
  }
  const out = new Uint8Array(total);
  let at = 0;
  for (const c of chunks) {
    out.set(c, at);
    at += c.byteLength;
  }
  return out;
}

/**
 * Nesting deeper than this is refused before JSON.parse: no route takes anything near it, and
 * deep values overflow the stack of whatever walks them later (validation, serialization).
 * Free-form fields have their own, tighter bounds (domain/shared/json-limits.ts).
 */
export const MAX_JSON_DEPTH = 32;

/** One pass over the raw bytes, counting brackets outside strings. */
function assertJsonDepth(bytes: Uint8Array): void {
  let depth = 0;
  let inString = false;
  for (let i = 0; i < bytes.length; i++) {
    const b = bytes[i];
    if (inString) {
      if (b === 0x5c)
        i++; // backslash: skip the escaped byte
      else if (b === 0x22) inString = false;
    } else if (b === 0x22) inString = true;
    else if (b === 0x7b || b === 0x5b) {
      if (++depth > MAX_JSON_DEPTH)
        throw validation(`JSON nested deeper than ${MAX_JSON_DEPTH} levels`, { maxDepth: MAX_JSON_DEPTH });
    } else if (b === 0x7d || b === 0x5d) depth--;
  }
}

/**
 * The parsed body for a media type: JSON (also `+json`), form-urlencoded as an object, `text/*`
 * as a string, anything else as bytes (no route takes those; its schema rejects them with 400).
 * An empty JSON body is `null`, so a route that needs one answers 400, one that takes none works.
 */
export async function readBody(request: Request, contentType: string, maxBytes = MAX_BODY_BYTES): Promise<unknown> {
  const bytes = await readCapped(request, maxBytes);
  const type = contentType.toLowerCase();
  if (type === "application/json" || type.endsWith("+json")) {
    if (bytes.byteLength === 0) return null;
    assertJsonDepth(bytes);
    try {
      return JSON.parse(new TextDecoder().decode(bytes));
    } catch {
      throw validation("Malformed JSON body");
    }
  }
  if (type === "application/x-www-form-urlencoded")
    return Object.fromEntries(new URLSearchParams(new TextDecoder().decode(bytes)));
  if (type.startsWith("text/")) return new TextDecoder().decode(bytes);
  return bytes;
}
