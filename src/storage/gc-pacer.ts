/**
 * Streaming large objects allocates short-lived megabyte buffers (request chunks, ciphertext,
 * S3 part buffers and socket chunks) that JSC collects lazily, so RSS rose with object size.
 * A pacer runs a synchronous collection after every `everyBytes` streamed, counted across all
 * streams of the process (8 concurrent uploads make garbage 8× as fast). Measured trade-offs are
 * noted where each pacer is created.
 */
export class GcPacer {
  private pending = 0;
  constructor(private readonly everyBytes: number) {}

  add(bytes: number): void {
    this.pending += bytes;
    if (this.pending >= this.everyBytes) {
      this.pending = 0;
      Bun.gc(true);
    }
  }
}
