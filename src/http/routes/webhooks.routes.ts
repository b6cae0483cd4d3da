import { Elysia, t } from "elysia";
import type { TenantsService } from "../../domain/tenants/tenants.service";
import { WEBHOOK_EVENTS, type WebhooksService } from "../../domain/webhooks/webhooks.service";
import { tenantAuth } from "../plugins/auth";
import { bearer, Cursor, Limit, routeConfig, Uuid } from "../schemas";

/** Default webhook endpoints of the tenant and the delivery log. */
export function webhooksRoutes(deps: { tenants: TenantsService; webhooks: WebhooksService }) {
  const wh = deps.webhooks;
  return new Elysia(routeConfig({ prefix: "/api/v1/webhooks", tags: ["webhooks"] }))
    .use(tenantAuth(deps.tenants))
    .get("/", ({ tenant }) => wh.listEndpoints(tenant.id), { detail: { summary: "List webhook endpoints", ...bearer } })
    .post(
      "/",
      ({ tenant, body, set }) => {
        set.status = 201;
        return wh.createEndpoint(tenant.id, body);
      },
      {
        body: t.Object({
          url: t.String({ minLength: 1, maxLength: 2048 }),
          events: t.Optional(t.Array(t.Union(WEBHOOK_EVENTS.map((e) => t.Literal(e))), { minItems: 1 })),
          description: t.Optional(t.String({ maxLength: 200 })),
        }),
        detail: { summary: "Register a default endpoint for file events", ...bearer },
      },
    )
    .get("/deliveries", ({ tenant, query }) => wh.listDeliveries(tenant.id, query), {
      query: t.Object({
        limit: Limit,
        cursor: Cursor,
        status: t.Optional(
          t.Union([t.Literal("pending"), t.Literal("delivering"), t.Literal("delivered"), t.Literal("dead")]),
        ),
      }),
      detail: { summary: "Recent deliveries with status, attempts and last error", ...bearer },
    })
    .post("/deliveries/:id/retry", ({ tenant, params }) => wh.retryDelivery(tenant.id, params.id), {
      params: t.Object({ id: Uuid }),
      detail: { summary: "Re-queue a dead delivery", ...bearer },
    })
    .delete(
      "/:id",
      async ({ tenant, params }) => {
        await wh.deleteEndpoint(tenant.id, params.id);
        return { success: true };
      },
      { params: t.Object({ id: Uuid }), detail: { summary: "Remove a webhook endpoint", ...bearer } },
    );
}
