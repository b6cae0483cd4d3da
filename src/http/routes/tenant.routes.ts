import { Elysia } from "elysia";
import { allowedTypesOf } from "../../domain/file-types";
import { quotaView, type TenantsService } from "../../domain/tenants.service";
import { tenantAuth } from "../plugins/auth";
import { bearer, routeConfig } from "../schemas";

/** The authenticated tenant's own view: info, quota, webhook secret rotation. */
export function tenantRoutes(deps: { tenants: TenantsService }) {
  return new Elysia(routeConfig({ prefix: "/api/v1/tenant", tags: ["tenant"] }))
    .use(tenantAuth(deps.tenants))
    .get(
      "/info",
      ({ tenant }) => ({
        id: tenant.id,
        name: tenant.name,
        allowedFileTypes: allowedTypesOf(tenant),
        createdAt: new Date(tenant.createdAt).toISOString(),
        keyPrefix: tenant.keyPrefix,
        webhookSecret: tenant.webhookSecret,
      }),
      { detail: { summary: "Tenant info (includes the webhook signing secret)", ...bearer } },
    )
    .get("/quota", ({ tenant }) => quotaView(tenant), { detail: { summary: "Storage quota usage", ...bearer } })
    .post("/webhook-secret/rotate", ({ tenant }) => ({ webhookSecret: deps.tenants.rotateWebhookSecret(tenant.id) }), {
      detail: { summary: "Rotate the webhook signing secret", ...bearer },
    });
}
