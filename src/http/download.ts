import { create as contentDisposition } from "content-disposition";
import parseRange from "range-parser";
import { dispositionFor } from "../domain/files/file-types";
import type { FileContent } from "../domain/files/files.service";
import { AppError } from "../domain/shared/errors";

export interface DownloadOptions {
  request: Request;
  file: FileContent;
  cacheControl: string;
  disposition?: "inline" | "attachment";
}

/**
 * Builds a download response: decrypting stream, single `Range` (206; several ranges answer the
 * whole file, as RFC 9110 allows), ETag / If-None-Match (304), If-Range, RFC 6266 filename,
 * nosniff. The request's AbortSignal is passed down so a client that goes away stops the read.
 */
export async function downloadResponse(o: DownloadOptions): Promise<Response> {
  const f = o.file;
  const etag = `"${f.sha256}"`;
  const headers = new Headers({
    "content-type": f.contentType,
    "content-disposition": contentDisposition(f.fileName, { type: dispositionFor(f.contentType, o.disposition) }),
    "x-content-type-options": "nosniff",
    // Stored content is never trusted as active content on our origin (HTML/SVG a tenant may allow).
    "content-security-policy": "default-src 'none'; sandbox",
    "accept-ranges": "bytes",
    etag,
    "cache-control": o.cacheControl,
    "last-modified": f.lastModified.toUTCString(),
  });
  const inm = o.request.headers.get("if-none-match");
  if (inm?.split(",").some((t) => t.trim() === etag || t.trim() === "*" || t.trim() === `W/${etag}`)) {
    return new Response(null, { status: 304, headers });
  }

  let start = 0;
  let end = f.sizeBytes - 1;
  let status = 200;
  const rangeHeader = o.request.headers.get("range");
  const ifRange = o.request.headers.get("if-range");
  if (rangeHeader && (!ifRange || ifRange === etag)) {
    const ranges = parseRange(f.sizeBytes, clampSuffixRanges(rangeHeader, f.sizeBytes), { combine: true });
    if (ranges === -1) {
      headers.set("content-range", `bytes */${f.sizeBytes}`);
      const body = new AppError("RANGE_NOT_SATISFIABLE", "Requested range is not satisfiable", {
        sizeBytes: f.sizeBytes,
      }).toBody();
      headers.set("content-type", "application/json");
      headers.delete("content-disposition");
      return new Response(JSON.stringify(body), { status: 416, headers });
    }
    const only = Array.isArray(ranges) && ranges.type === "bytes" && ranges.length === 1 ? ranges[0] : undefined;
    if (only) {
      ({ start, end } = only);
      status = 206;
      headers.set("content-range", `bytes ${start}-${end}/${f.sizeBytes}`);
    }
  }
  headers.set("content-length", String(end - start + 1));
  if (o.request.method === "HEAD") return new Response(null, { status, headers });

  const stream = await f.open({ start, end, signal: o.request.signal });
  return new Response(stream, { status, headers });
}

/**
 * A suffix range longer than the representation (`bytes=-99999999` on a smaller file) means the
 * whole of it (RFC 9110 §14.1.2); range-parser would call it unsatisfiable, so it becomes `0-`.
 */
export function clampSuffixRanges(header: string, size: number): string {
  return header.replace(/(^bytes=|,)\s*-(\d+)\s*(?=,|$)/g, (m, lead: string, n: string) =>
    size > 0 && Number(n) >= size ? `${lead}0-` : m,
  );
}
