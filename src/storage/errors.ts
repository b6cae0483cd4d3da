/**
 * The backend could not be reached or failed (network error, timeout, 5xx after bounded retries).
 * Mapped to 503 STORAGE_UNAVAILABLE by the HTTP error handler; the message is safe to show.
 */
export class StorageUnavailableError extends Error {
  override name = "StorageUnavailableError";
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
  }
}
