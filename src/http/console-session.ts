import type { ConsoleSessionsService } from "../domain/admin/console-sessions.service";
import { AppError } from "../domain/shared/errors";

/** Name of the admin console's session cookie (its value is the session id, never the admin key). */
export const SESSION_COOKIE = "sb_console";

/** Methods that change state: with a cookie they need a same-origin `Origin` (CSRF defence). */
const SAFE_METHODS = new Set(["GET", "HEAD", "OPTIONS"]);

/**
 * Authenticates an admin request by its console session cookie: true for a live session,
 * false when there is no cookie or it is unknown/expired/signed out (the caller answers 401).
 * Throws 403 FORBIDDEN for a live session on a state-changing request whose `Origin` is not
 * this server: SameSite=Strict already keeps the cookie off cross-site requests; the Origin
 * check also covers same-site siblings (another port or subdomain on the same host name).
 */
export type AdminSessionCheck = (request: Request) => Promise<boolean>;

export function sessionIdOf(request: Request): string | null {
  const header = request.headers.get("cookie");
  if (!header) return null;
  for (const part of header.split(";")) {
    const eq = part.indexOf("=");
    if (eq > 0 && part.slice(0, eq).trim() === SESSION_COOKIE) return part.slice(eq + 1).trim() || null;
  }
  return null;
}

/** True for HTTPS as the browser saw it (directly, or through a TLS-terminating proxy). */
export function isHttps(request: Request): boolean {
  return new URL(request.url).protocol === "https:" || request.headers.get("x-forwarded-proto") === "https";
}

export function sessionCookie(id: string, maxAgeSeconds: number, secure: boolean): string {
  return `${SESSION_COOKIE}=${id}; Path=/; Max-Age=${maxAgeSeconds}; HttpOnly; SameSite=Strict${secure ? "; Secure" : ""}`;
}

/** The request's Origin is this server: its own URL, its Host header, or the configured PUBLIC_URL. */
export function sameOrigin(request: Request, publicUrl: string): boolean {
  const origin = request.headers.get("origin");
  if (!origin || origin === "null") return false;
  let o: URL;
  try {
    o = new URL(origin);
  } catch {
    return false;
  }
  if (o.origin === new URL(request.url).origin || o.origin === new URL(publicUrl).origin) return true;
  return o.host === request.headers.get("host");
}

export function consoleSessionCheck(sessions: ConsoleSessionsService, publicUrl: string): AdminSessionCheck {
  return async (request) => {
    const id = sessionIdOf(request);
    if (!id || (await sessions.check(id)) === null) return false;
    if (!SAFE_METHODS.has(request.method) && !sameOrigin(request, publicUrl))
      throw new AppError("FORBIDDEN", "Cross-origin request refused: the console session only works from its own page");
    return true;
  };
}
