import { fullGC } from "bun:jsc";

/**
 * Streaming large objects allocates short-lived megabyte buffers (request chunks, ciphertext,
 * S3 part buffers and socket chunks) that JSC collects lazily, so RSS rose with object size.
 * A pacer runs a synchronous collection after every `everyBytes` streamed, counted across all
 * streams of the process (8 concurrent uploads make garbage 8× as fast). Measured trade-offs are
 * noted where each pacer is created.
 *
 * The collection is JSC's full collection alone (`bun:jsc` fullGC), not `Bun.gc(true)`, which
 * also forces mimalloc to return its free pages to the OS: with this app's heap that took 33-66 ms
 * of wall time (10-13 ms CPU) per call against 7-8 ms for fullGC after 32 MiB of garbage, and
 * stalled every request in flight. Measured with bench/profile.ts (same run, 2 rounds): CPU per
 * GiB of 8 concurrent 64 MiB uploads 7,320 → 5,440 ms, per 1 MiB range read 6.85 → 5.15 ms, per
 * GiB downloaded 2,480 → 1,820 ms, peak RSS unchanged (195 → 202, 150 → 154 MiB): the freed
 * buffers' memory is reused by the next ones instead of being handed back and faulted in again.
 */
export class GcPacer {
  private pending = 0;
  constructor(private readonly everyBytes: number) {}

  add(bytes: number): void {
    this.pending += bytes;
    if (this.pending >= this.everyBytes) {
      this.pending = 0;
      fullGC();
    }
  }
}
