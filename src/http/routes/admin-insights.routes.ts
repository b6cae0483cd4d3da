import { Elysia, t } from "elysia";
import type { AdminStatsService } from "../../domain/admin/admin-stats.service";
import type { AuditService } from "../../domain/audit/audit.service";
import type { AdminAuthService } from "../../domain/tenants/admin-auth.service";
import type { TenantsService } from "../../domain/tenants/tenants.service";
import { WEBHOOK_EVENTS, type WebhooksService } from "../../domain/webhooks/webhooks.service";
import type { AdminSessionCheck } from "../console-session";
import { adminAudit } from "../plugins/audit-trail";
import { adminAuth } from "../plugins/auth";
import { bearer, Cursor, IdParams, Limit, queryInt, routeConfig, Uuid } from "../schemas";

export interface AdminInsightsRoutesDeps {
  adminAuth: AdminAuthService;
  tenants: TenantsService;
  adminStats: AdminStatsService;
  webhooks: WebhooksService;
  audit: AuditService;
  adminSession?: AdminSessionCheck;
}

const detail = (summary: string) => ({ detail: { summary, ...bearer } });
const DeliveryStatus = t.Union([
  t.Literal("pending"),
  t.Literal("delivering"),
  t.Literal("delivered"),
  t.Literal("dead"),
]);

/**
 * Admin views across tenants (overview, usage, file search) and a tenant's webhooks as the
 * admin sees them. The admin console is built on these; they are ordinary admin API routes.
 */
export function adminInsightsRoutes(deps: AdminInsightsRoutesDeps) {
  const { adminStats, webhooks, tenants } = deps;
  const tenantId = async (id: string) => (await tenants.get(id)).id; // 404 for an unknown tenant
  return new Elysia(routeConfig({ prefix: "/api/v1/admin", tags: ["admin"] }))
    .use(adminAuth(deps.adminAuth, deps.adminSession))
    .use(adminAudit(deps.audit))
    .get("/overview", () => adminStats.overview(), {
      ...detail(
        "Instance overview: tenants, files, stored bytes, uploads in the last 24 h, dead webhook deliveries, backend health, version, uptime",
      ),
    })
    .get("/usage", ({ query }) => adminStats.usage(query.days ?? 30, query.tenantId), {
      query: t.Object({
        days: t.Optional(queryInt({ minimum: 1, maximum: 366, default: 30 })),
        tenantId: t.Optional(Uuid),
      }),
      ...detail("Bytes per tenant and per workspace, and completed uploads per UTC day"),
    })
    .get("/tenants/:id/files/search", ({ params, query }) => adminStats.searchFiles(params.id, query), {
      params: IdParams,
      query: t.Object({
        limit: Limit,
        cursor: Cursor,
        q: t.Optional(t.String({ maxLength: 255, description: "Substring of the file name or context" })),
        fileType: t.Optional(t.String({ minLength: 1, maxLength: 255 })),
        status: t.Optional(
          t.Union([t.Literal("pending"), t.Literal("processing"), t.Literal("completed"), t.Literal("failed")]),
        ),
        workspaceId: t.Optional(Uuid),
        sort: t.Optional(t.Union([t.Literal("newest"), t.Literal("oldest")])),
      }),
      ...detail("Search a tenant's files by name or context, type, status and workspace (keyset pagination)"),
    })
    .get("/tenants/:id/webhooks", async ({ params }) => webhooks.listEndpoints(await tenantId(params.id)), {
      params: IdParams,
      ...detail("A tenant's webhook endpoints"),
    })
    .post(
      "/tenants/:id/webhooks",
      async ({ params, body, set }) => {
        const created = await webhooks.createEndpoint(await tenantId(params.id), body);
        set.status = 201;
        return created;
      },
      {
        params: IdParams,
        body: t.Object({
          url: t.String({ minLength: 1, maxLength: 2048 }),
          events: t.Optional(t.Array(t.Union(WEBHOOK_EVENTS.map((e) => t.Literal(e))), { minItems: 1 })),
          description: t.Optional(t.String({ maxLength: 200 })),
        }),
        ...detail("Register a webhook endpoint for a tenant"),
      },
    )
    .delete(
      "/tenants/:id/webhooks/:webhookId",
      async ({ params }) => {
        await webhooks.deleteEndpoint(await tenantId(params.id), params.webhookId);
        return { success: true };
      },
      { params: t.Object({ id: Uuid, webhookId: Uuid }), ...detail("Remove a tenant's webhook endpoint") },
    )
    .get(
      "/tenants/:id/webhooks/deliveries",
      async ({ params, query }) => webhooks.listDeliveries(await tenantId(params.id), query),
      {
        params: IdParams,
        query: t.Object({ limit: Limit, cursor: Cursor, status: t.Optional(DeliveryStatus) }),
        ...detail("A tenant's webhook deliveries with status, attempts, next attempt and last error"),
      },
    )
    .post(
      "/tenants/:id/webhooks/deliveries/:deliveryId/retry",
      async ({ params }) => webhooks.retryDelivery(await tenantId(params.id), params.deliveryId),
      { params: t.Object({ id: Uuid, deliveryId: Uuid }), ...detail("Re-queue a tenant's dead delivery") },
    )
    .post("/tenants/:id/webhooks/test", async ({ params }) => webhooks.sendTestEvent(await tenantId(params.id)), {
      params: IdParams,
      ...detail("Queue a webhook.test event to every endpoint of the tenant"),
    });
}
