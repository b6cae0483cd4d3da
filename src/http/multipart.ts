import { Readable } from "node:stream";
import Busboy from "busboy";
import { clientStream } from "../domain/shared/client-stream";
import { validation } from "../domain/shared/errors";

export interface MultipartFilePart {
  /** Text fields that came before the file part. */
  fields: Record<string, string>;
  fileName: string;
  contentType: string;
  /** The file's bytes as they arrive; never buffered whole. */
  stream: ReadableStream<Uint8Array>;
}

/**
 * Streams a multipart/form-data body with busboy (a maintained streaming parser; `request.formData()`
 * would buffer the whole file in memory) and resolves as soon as the part named `file` starts,
 * with the fields sent before it. Other file parts are skipped. A body cut short errors the stream.
 */
export function firstFilePart(request: Request, maxFileBytes: number): Promise<MultipartFilePart> {
  return new Promise((resolve, reject) => {
    const contentType = request.headers.get("content-type") ?? "";
    if (!request.body || !contentType.toLowerCase().startsWith("multipart/form-data")) {
      reject(validation("Expected a multipart/form-data body with a 'file' part"));
      return;
    }
    let bb: Busboy.Busboy;
    try {
      bb = Busboy({
        headers: { "content-type": contentType },
        // Browsers send a part's filename as raw UTF-8 (WHATWG HTML); busboy's default, latin1,
        // would turn every non-ASCII name into mojibake full of C1 controls.
        defParamCharset: "utf8",
        // The name reaches the one file-name rule as sent: busboy would cut "../x" down to "x".
        preservePath: true,
        limits: { files: 1, fields: 20, fieldSize: 1024, parts: 25, fileSize: maxFileBytes + 1 },
      });
    } catch (err) {
      reject(validation(`Malformed multipart body: ${(err as Error).message}`));
      return;
    }
    const fields: Record<string, string> = {};
    let found = false;
    bb.on("field", (name, value) => {
      fields[name] = value;
    });
    bb.on("file", (name, file, info) => {
      if (found || name !== "file") {
        file.resume();
        return;
      }
      found = true;
      resolve({
        fields: { ...fields },
        fileName: info.filename ?? "",
        contentType: info.mimeType,
        stream: clientStream(Readable.toWeb(file) as ReadableStream<Uint8Array>),
      });
    });
    bb.on("error", (err) => reject(validation(`Malformed multipart body: ${(err as Error).message}`)));
    bb.on("close", () => {
      if (!found) reject(validation("The multipart body has no 'file' part"));
    });
    const source = Readable.fromWeb(request.body as import("node:stream/web").ReadableStream<Uint8Array>);
    source.on("error", (err) => bb.destroy(err));
    source.pipe(bb);
  });
}
