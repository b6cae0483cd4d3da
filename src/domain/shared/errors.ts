/**
 * The one table of error codes. The code decides the HTTP status; the HTTP error handler
 * maps every thrown error through here, so every response is `{"error":{code,message,details}}`.
 */
export const ERROR_STATUS = {
  VALIDATION_ERROR: 400,
  INVALID_FILE_TYPE: 400,
  UNAUTHORIZED: 401,
  FORBIDDEN: 403,
  QUOTA_EXCEEDED: 403,
  FILE_NOT_FOUND: 404,
  NOT_FOUND: 404,
  CONFLICT: 409,
  UPLOAD_EXPIRED: 410,
  /** tus only: the request lacks `Tus-Resumable: 1.0.0`. */
  TUS_VERSION_UNSUPPORTED: 412,
  FILE_TOO_LARGE: 413,
  PAYLOAD_TOO_LARGE: 413,
  /** tus only: a PATCH body must be `application/offset+octet-stream`. */
  UNSUPPORTED_MEDIA_TYPE: 415,
  RANGE_NOT_SATISFIABLE: 416,
  RATE_LIMITED: 429,
  /** tus checksum extension: the body does not match `Upload-Checksum`; nothing of it was kept. */
  CHECKSUM_MISMATCH: 460,
  INTERNAL_ERROR: 500,
  STORAGE_UNAVAILABLE: 503,
  INSUFFICIENT_STORAGE: 507,
} as const;

export type ErrorCode = keyof typeof ERROR_STATUS;

export class AppError extends Error {
  override name = "AppError";
  constructor(
    readonly code: ErrorCode,
    message: string,
    readonly details: Record<string, unknown> = {},
  ) {
    super(message);
  }

  get status(): number {
    return ERROR_STATUS[this.code];
  }

  toBody() {
    return { error: { code: this.code, message: this.message, details: this.details } };
  }
}

/**
 * The client's request body broke off (disconnect, reset, multipart cut before its boundary). Still a
 * 400 for whoever might read the answer, but a distinct class so upload code can log it as a client
 * abort (warn, with how far it got) rather than as a server failure.
 */
export class BodyInterruptedError extends AppError {
  override name = "BodyInterruptedError";
  constructor(message: string) {
    super("VALIDATION_ERROR", message);
  }
}

/**
 * A row the caller just wrote, or checked in the same synchronous step: its absence is a bug
 * (a 500 that names it), never a 404 to the client.
 */
export function present<T>(row: T | undefined | null, what: string): T {
  if (row === undefined || row === null) throw new Error(`invariant: ${what} vanished`);
  return row;
}

export const notFound = (what = "Resource") => new AppError("NOT_FOUND", `${what} not found`);
export const fileNotFound = (fileId: string) => new AppError("FILE_NOT_FOUND", "File not found", { fileId });
export const workspaceNotFound = (workspaceId: string) =>
  new AppError("NOT_FOUND", "Workspace not found", { workspaceId });
export const unauthorized = (message = "Missing or invalid API key") => new AppError("UNAUTHORIZED", message);
export const validation = (message: string, details: Record<string, unknown> = {}) =>
  new AppError("VALIDATION_ERROR", message, details);
