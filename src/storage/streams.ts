/** Small stream helpers shared by the encryption layer and backends. */

/**
 * Regroups a byte stream into chunks of exactly `size` bytes (the last may be shorter).
 * Two buffers are used in turn, so a yielded chunk stays valid until the *second* next() after
 * it: enough for a consumer that holds one chunk back, and it spares the garbage collector one
 * large allocation per chunk (which showed up as RSS growth on 100 MiB uploads). Input that
 * already arrives in whole chunks is passed through as views, without copying.
 */
export async function* rechunk(
  input: AsyncIterable<Uint8Array>,
  chunkSize: number,
  expectedTotal?: number,
): AsyncGenerator<Uint8Array<ArrayBuffer>> {
  // A small object or range needn't pay for two full-size buffers; more input than expected
  // still works, in chunks of the smaller size (callers that pass expectedTotal never get more).
  const size = Math.max(1, Math.min(chunkSize, expectedTotal ?? chunkSize));
  // Allocated on the first copy only: aligned input never needs them, and zeroing two segment-sized
  // buffers per call was 8-14 % of the server's samples on range reads (bench/profile.ts --cpu-prof).
  let buf: Uint8Array<ArrayBuffer> | undefined;
  let spare: Uint8Array<ArrayBuffer> | undefined;
  let fill = 0;
  for await (const chunk of input) {
    let off = 0;
    while (off < chunk.byteLength) {
      if (fill === 0 && chunk.byteLength - off >= size) {
        // Aligned input (e.g. the local backend reading whole segments): hand out a view, no copy.
        yield chunk.subarray(off, off + size) as Uint8Array<ArrayBuffer>;
        off += size;
        continue;
      }
      buf ??= new Uint8Array(size);
      const n = Math.min(size - fill, chunk.byteLength - off);
      buf.set(chunk.subarray(off, off + n), fill);
      fill += n;
      off += n;
      if (fill === size) {
        yield buf;
        spare ??= new Uint8Array(size);
        [buf, spare] = [spare, buf];
        fill = 0;
      }
    }
  }
  if (buf && fill > 0) yield buf.subarray(0, fill);
}

/**
 * A pull-based ReadableStream over an async iterator. It produces one item ahead of the reader
 * (highWaterMark 1), so encrypting segment n+1 overlaps writing segment n (~10% faster uploads,
 * measured) while memory stays bounded to that one item; cancelling the stream ends the iterator
 * (its `finally` blocks run, which is how upstream bodies get released).
 */
export function iteratorToStream(it: AsyncIterator<Uint8Array>): ReadableStream<Uint8Array> {
  return new ReadableStream<Uint8Array>(
    {
      async pull(controller) {
        try {
          const { done, value } = await it.next();
          if (done) controller.close();
          else controller.enqueue(value);
        } catch (err) {
          controller.error(err);
        }
      },
      async cancel(reason) {
        await it.return?.(reason);
      },
    },
    { highWaterMark: 1 },
  );
}

/** Bytes [skip, skip + length) of a stream; the rest of the source is cancelled once enough was read. */
export function sliceStream(
  source: ReadableStream<Uint8Array>,
  skip: number,
  length: number,
): ReadableStream<Uint8Array> {
  async function* slice() {
    let pos = 0;
    const end = skip + length;
    for await (const chunk of source) {
      const from = Math.max(0, skip - pos);
      const to = Math.min(chunk.byteLength, end - pos);
      if (to > from) yield chunk.subarray(from, to);
      pos += chunk.byteLength;
      if (pos >= end) return; // leaving the loop cancels the source
    }
  }
  return iteratorToStream(slice());
}
