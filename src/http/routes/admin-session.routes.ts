import { Elysia } from "elysia";
import type { ConsoleSessionsService } from "../../domain/admin/console-sessions.service";
import type { AuditService } from "../../domain/audit/audit.service";
import { unauthorized } from "../../domain/shared/errors";
import type { AdminAuthService } from "../../domain/tenants/admin-auth.service";
import { type AdminSessionCheck, isHttps, sessionCookie, sessionIdOf } from "../console-session";
import { adminAudit } from "../plugins/audit-trail";
import { adminAuth, bearerKey } from "../plugins/auth";
import { bearer, routeConfig } from "../schemas";

/**
 * Sign-in and sign-out of the admin web console. The browser posts the admin key once (as a
 * Bearer header) and gets back an HttpOnly, SameSite=Strict cookie holding a random session id;
 * the key itself is never stored by the browser. Sign-out deletes the session server-side.
 */
export function adminSessionRoutes(deps: {
  adminAuth: AdminAuthService;
  consoleSessions: ConsoleSessionsService;
  adminSession: AdminSessionCheck;
  audit: AuditService;
}) {
  const sessions = deps.consoleSessions;
  const cfg = routeConfig({ prefix: "/api/v1/admin", tags: ["admin"] });

  // Opening a session needs the key itself: a cookie cannot extend or copy itself.
  const signIn = new Elysia(cfg)
    .use(adminAuth(deps.adminAuth))
    .use(adminAudit(deps.audit))
    .post(
      "/session",
      async ({ request, set }) => {
        if (!bearerKey(request)) throw unauthorized("Missing admin key");
        const { id, expiresAt, maxAgeSeconds } = await sessions.open();
        set.headers["set-cookie"] = sessionCookie(id, maxAgeSeconds, isHttps(request));
        set.headers["cache-control"] = "no-store";
        set.status = 201;
        return { expiresAt: new Date(expiresAt).toISOString() };
      },
      {
        detail: {
          summary: "Open an admin console session (admin key as Bearer); sets an HttpOnly session cookie",
          ...bearer,
        },
      },
    );

  const current = new Elysia(cfg)
    .use(adminAuth(deps.adminAuth, deps.adminSession))
    .use(adminAudit(deps.audit))
    .get(
      "/session",
      async ({ request }) => {
        const id = bearerKey(request) ? null : sessionIdOf(request);
        const expiresAt = id ? await sessions.check(id) : null;
        return {
          authenticated: true,
          via: id ? "session" : "key",
          expiresAt: expiresAt && new Date(expiresAt).toISOString(),
        };
      },
      { detail: { summary: "Who is calling: the admin key or a console session (401 otherwise)", ...bearer } },
    )
    .delete(
      "/session",
      async ({ request, set }) => {
        const id = sessionIdOf(request);
        if (id) await sessions.close(id);
        set.headers["set-cookie"] = sessionCookie("", 0, isHttps(request));
        return { success: true };
      },
      { detail: { summary: "Sign out: the session cookie stops working at once", ...bearer } },
    );

  return new Elysia().use(signIn).use(current);
}
