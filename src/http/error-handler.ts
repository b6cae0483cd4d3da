import { Elysia } from "elysia";
import { AppError } from "../domain/shared/errors";
import { fromStorageError } from "../domain/shared/storage-errors";
import { describeCauses, type Logger } from "../logger";

/** JSON response in the standard error format. */
export function errorResponse(err: AppError, headers: Record<string, string> = {}): Response {
  return new Response(JSON.stringify(err.toBody()), {
    status: err.status,
    headers: { "content-type": "application/json", ...headers },
  });
}

/** Turns anything thrown into an AppError; unknown errors become a 500 that reveals nothing. */
export function toAppError(code: string | number, error: unknown): AppError {
  if (error instanceof AppError) return error;
  switch (code) {
    case "VALIDATION": {
      const all = (error as { all?: { path?: string; summary?: string; message?: string }[] }).all ?? [];
      const errors = all.map((e) => ({
        path: (e.path ?? "").replace(/^\//, "").replace(/\//g, ".") || "(root)",
        message: e.summary ?? e.message ?? "invalid",
      }));
      const first = errors[0];
      return new AppError(
        "VALIDATION_ERROR",
        first ? `Invalid request: ${first.path}: ${first.message}` : "Invalid request",
        { errors },
      );
    }
    case "PARSE": {
      // The auth plugins' parse hook (plugins/auth.ts) throws 401/413/429 from inside Elysia's
      // parse step, which wraps whatever it throws in a ParseError.
      const cause = (error as { cause?: unknown }).cause;
      if (cause instanceof AppError) return cause;
      return new AppError("VALIDATION_ERROR", "Malformed request body");
    }
    case "NOT_FOUND":
      return new AppError("NOT_FOUND", "Route not found");
  }
  return fromStorageError(error) ?? new AppError("INTERNAL_ERROR", "Internal server error");
}

/**
 * The one error handler: every error, Elysia's own included, leaves as
 * `{"error":{"code","message","details"}}` with the status from the error table.
 */
export function errorHandler(
  logger: Logger,
  hooks: { onUnauthorized?: (request: Request) => void | Promise<void> } = {},
) {
  return new Elysia({ name: "error-handler" }).onError({ as: "global" }, async ({ code, error, request }) => {
    const appError = toAppError(code, error);
    // Every failed authentication passes here: the per-address failure budget is spent here,
    // before the answer leaves (the client's next attempt must see it, on any instance).
    if (appError.status === 401)
      await Promise.resolve(hooks.onUnauthorized?.(request)).catch((err) =>
        logger.warn("rate limits: recording a failed authentication failed", { err: String(err) }),
      );
    if (appError.status >= 500) {
      logger.error("request failed", {
        method: request.method,
        path: new URL(request.url).pathname,
        err: error instanceof Error ? (error.stack ?? error.message) : String(error),
        cause: describeCauses(error),
      });
    }
    const headers: Record<string, string> = {};
    if (appError.code === "RATE_LIMITED") {
      const d = appError.details as {
        retryAfterSeconds?: number;
        limit?: number;
        remaining?: number;
        resetSeconds?: number;
      };
      headers["retry-after"] = String(d.retryAfterSeconds ?? 1);
      if (d.limit !== undefined) {
        headers["ratelimit-limit"] = String(d.limit);
        headers["ratelimit-remaining"] = String(d.remaining ?? 0);
        headers["ratelimit-reset"] = String(d.resetSeconds ?? d.retryAfterSeconds ?? 1);
      }
    }
    return errorResponse(appError, headers);
  });
}
