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
  if (isOutOfSpace(err)) return insufficientStorage();
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

const OUT_OF_SPACE_CODES = new Set(["ENOSPC", "EDQUOT", "SQLITE_FULL"]);

/**
 * True when `err` (or an error it wraps) says the disk is full: ENOSPC / EDQUOT from the local object
 * store's writes, SQLITE_FULL from the database. Such a failure is the operator's to fix, not a bug, so
 * it answers 507 INSUFFICIENT_STORAGE (nothing was stored or charged) instead of a 500.
 */
export function isOutOfSpace(err: unknown): boolean {
  for (let e = err, depth = 0; e && typeof e === "object" && depth < 5; e = (e as { cause?: unknown }).cause, depth++) {
    const code = (e as { code?: unknown }).code;
    if (typeof code === "string" && OUT_OF_SPACE_CODES.has(code)) return true;
  }
  return false;
}

export const insufficientStorage = () =>
  new AppError("INSUFFICIENT_STORAGE", "The server has no space left to store this; try again later");
