import { iteratorToStream } from "../../storage/streams";
import { BodyInterruptedError } from "./errors";

/**
 * A request body (or multipart part) whose read errors — a client that disconnects, a multipart
 * body cut before its boundary — surface as 400 VALIDATION_ERROR instead of an internal error.
 * Storage failures stay what they are: they happen on the other side of the pipeline.
 */
export function clientStream(body: ReadableStream<Uint8Array>): ReadableStream<Uint8Array> {
  async function* guarded() {
    const reader = body.getReader();
    try {
      for (;;) {
        let r: Awaited<ReturnType<typeof reader.read>>;
        try {
          r = await reader.read();
        } catch (err) {
          throw new BodyInterruptedError(
            `The request body ended unexpectedly: ${(err as Error)?.message || "connection lost"}`,
          );
        }
        if (r.done) return;
        yield r.value;
      }
    } finally {
      reader.cancel().catch(() => {});
    }
  }
  return iteratorToStream(guarded());
}
