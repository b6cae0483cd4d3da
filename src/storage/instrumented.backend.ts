import type { StorageBackend } from "./backend";

/**
 * Wraps a backend so every operation that throws is reported (for the backend-errors metric)
 * and rethrown unchanged. Errors inside an already returned stream are not seen here; they
 * surface to the request that reads it.
 */
export function instrumentBackend(inner: StorageBackend, onError: (operation: string) => void): StorageBackend {
  const watch = async <T>(op: string, p: () => Promise<T>): Promise<T> => {
    try {
      return await p();
    } catch (err) {
      onError(op);
      throw err;
    }
  };
  return {
    name: inner.name,
    put: (key, body, opts) => watch("put", () => inner.put(key, body, opts)),
    get: (key, opts) => watch("get", () => inner.get(key, opts)),
    stat: (key) => watch("stat", () => inner.stat(key)),
    delete: (key) => watch("delete", () => inner.delete(key)),
    async *list(prefix) {
      try {
        yield* inner.list(prefix);
      } catch (err) {
        onError("list");
        throw err;
      }
    },
    ping: () => watch("ping", () => inner.ping()),
    minPartSize: inner.minPartSize,
    maxParts: inner.maxParts,
    beginParts: (key) => watch("beginParts", () => inner.beginParts(key)),
    putPart: (key, id, part) => watch("putPart", () => inner.putPart(key, id, part)),
    syncParts: (key, id) => watch("syncParts", () => inner.syncParts(key, id)),
    completeParts: (key, id, parts, size) => watch("completeParts", () => inner.completeParts(key, id, parts, size)),
    abortParts: (key, id) => watch("abortParts", () => inner.abortParts(key, id)),
  };
}
