import type { ByteRange, StorageBackend } from "../../src/storage/backend";
import { StorageUnavailableError } from "../../src/storage/errors";

/**
 * Faults to inject; each counter is consumed as faults fire. Everything not failed goes to the
 * real backend underneath, so what is stored (or not) is what a real failure would leave.
 */
export interface Faults {
  /** Fail a put while its body is read: on chunk number `failWriteAtChunk` (1-based). */
  failWriteAtChunk?: number;
  /** Fail a put after its whole body was read, as a failing flush/rename/complete would. */
  failOnClose?: boolean;
  /** Fail this many of the next deletes. */
  failDeletes?: number;
}

/**
 * A StorageBackend that wraps a real one (local disk or S3) and fails on demand, in the spirit of
 * tusd's store tests: not a mock of our storage, the real backend with faults at its seam.
 * Failures are StorageUnavailableError, what the real backends throw for an unreachable store.
 */
export function faultyBackend(inner: StorageBackend) {
  const faults: Faults = {};
  const calls = { put: 0, delete: 0, failedDeletes: 0 };
  const injected = (what: string) => new StorageUnavailableError(`injected fault: ${what}`);

  const backend: StorageBackend = {
    name: `faulty(${inner.name})`,
    async put(key, body, opts) {
      calls.put++;
      const failAt = faults.failWriteAtChunk;
      const failOnClose = faults.failOnClose;
      faults.failWriteAtChunk = undefined;
      faults.failOnClose = undefined;
      if (failAt === undefined && !failOnClose) return inner.put(key, body, opts);
      let n = 0;
      const reader = body.getReader();
      const wrapped = new ReadableStream<Uint8Array>({
        async pull(controller) {
          const r = await reader.read();
          if (r.done) {
            if (failOnClose) controller.error(injected("close"));
            else controller.close();
            return;
          }
          if (++n === failAt) {
            controller.error(injected(`write #${n}`));
            await reader.cancel().catch(() => {});
            return;
          }
          controller.enqueue(r.value);
        },
        cancel: (reason) => reader.cancel(reason),
      });
      return inner.put(key, wrapped, opts);
    },
    get: (key: string, opts?: { range?: ByteRange; signal?: AbortSignal; chunkSize?: number }) => inner.get(key, opts),
    stat: (key) => inner.stat(key),
    async delete(key) {
      calls.delete++;
      if (faults.failDeletes) {
        faults.failDeletes--;
        calls.failedDeletes++;
        throw injected("delete");
      }
      return inner.delete(key);
    },
    list: (prefix) => inner.list(prefix),
    ping: () => inner.ping(),
    minPartSize: inner.minPartSize,
    maxParts: inner.maxParts,
    beginParts: (key) => inner.beginParts(key),
    putPart: (key, id, part) => inner.putPart(key, id, part),
    syncParts: (key, id) => inner.syncParts(key, id),
    completeParts: (key, id, parts, size) => inner.completeParts(key, id, parts, size),
    abortParts: (key, id) => inner.abortParts(key, id),
  };
  return { backend, faults, calls };
}

/** Whether an object exists, read through the backend's public contract. */
export async function objectExists(backend: StorageBackend, key: string): Promise<boolean> {
  const s = await backend.get(key, { range: { start: 0, end: 0 } });
  await s?.cancel();
  return s !== null;
}
