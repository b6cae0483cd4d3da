import { Elysia, t } from "elysia";
import type { AuditService } from "../../domain/audit/audit.service";
import type { AdminAuthService } from "../../domain/tenants/admin-auth.service";
import type { AdminSessionCheck } from "../console-session";
import { adminAuth } from "../plugins/auth";
import { bearer, Cursor, Limit, routeConfig, Uuid } from "../schemas";

const Time = t.Optional(t.String({ format: "date-time", description: "ISO 8601 time" }));

/** GET /api/v1/admin/audit: the audit trail, newest first, keyset-paged, filterable. Admin key only. */
export function auditRoutes(deps: {
  adminAuth: AdminAuthService;
  audit: AuditService;
  adminSession?: AdminSessionCheck;
}) {
  return new Elysia(routeConfig({ prefix: "/api/v1/admin", tags: ["admin"] }))
    .use(adminAuth(deps.adminAuth, deps.adminSession))
    .get(
      "/audit",
      async ({ query }) =>
        await deps.audit.list(
          {
            action: query.action,
            actorType: query.actorType,
            actorId: query.actorId,
            tenantId: query.tenantId,
            since: query.since ? Date.parse(query.since) : undefined,
            until: query.until ? Date.parse(query.until) : undefined,
          },
          query.limit ?? 20,
          query.cursor,
        ),
      {
        query: t.Object({
          limit: Limit,
          cursor: Cursor,
          action: t.Optional(t.String({ minLength: 1, maxLength: 100, description: "e.g. tenant.key.regenerate" })),
          actorType: t.Optional(
            t.Union([t.Literal("admin"), t.Literal("tenant"), t.Literal("user"), t.Literal("cli")]),
          ),
          actorId: t.Optional(t.String({ minLength: 1, maxLength: 64 })),
          tenantId: t.Optional(Uuid),
          since: Time,
          until: Time,
        }),
        detail: { summary: "Audit log of admin actions and key changes (newest first)", ...bearer },
      },
    );
}
