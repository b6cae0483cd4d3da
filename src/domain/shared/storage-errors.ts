import { DecryptionError } from "../../storage/crypto";
import { StorageUnavailableError } from "../../storage/errors";
import { AppError } from "./errors";

/**
 * Where storage and crypto failures become domain errors. Services call `storageCall` around the
 * object store; errors that surface later (a stream consumed by the route) pass through
 * `fromStorageError` in the HTTP error handler. Either way the table in errors.ts decides the status.
 */
export function fromStorageError(err: unknown): AppError | undefined {
  if (err instanceof AppError) return err;
  // The backend's message is written to be shown (it names no credentials or hosts).
  if (err instanceof StorageUnavailableError) return new AppError("STORAGE_UNAVAILABLE", err.message);
  // Tampered or foreign ciphertext: an internal fault, and the details stay in the log.
  if (err instanceof DecryptionError) return new AppError("INTERNAL_ERROR", "Stored object failed its integrity check");
  return undefined;
}

/** Awaits a storage operation, rethrowing its known failures as domain errors (others as they are). */
export async function storageCall<T>(op: Promise<T>): Promise<T> {
  try {
    return await op;
  } catch (err) {
    const mapped = fromStorageError(err);
    if (mapped) {
      mapped.cause = err;
      throw mapped;
    }
    throw err;
  }
}
