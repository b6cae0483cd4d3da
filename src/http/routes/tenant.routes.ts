import { Elysia, t } from "elysia";
import type { AuditService } from "../../domain/audit/audit.service";
import { allowedTypesOf } from "../../domain/files/file-types";
import type { AccessService } from "../../domain/tenants/access.service";
import { quotaView, type TenantsService } from "../../domain/tenants/tenants.service";
import { auditTrail } from "../plugins/audit-trail";
import { tenantAuth } from "../plugins/auth";
import { bearer, routeConfig, Uuid } from "../schemas";

/** The authenticated tenant's own view: info, quota, webhook secret rotation. */
export function tenantRoutes(deps: { tenants: TenantsService; access: AccessService; audit: AuditService }) {
  return (
    new Elysia(routeConfig({ prefix: "/api/v1/tenant", tags: ["tenant"] }))
      .use(tenantAuth(deps.tenants))
      // Key changes (user keys, webhook secret) made with a tenant key are audited too.
      .use(
        auditTrail<{ tenant: { id: string } }>(deps.audit, {
          actorOf: (ctx) => ({ type: "tenant", id: ctx.tenant.id }),
          tenantOf: (ctx) => ctx.tenant.id,
        }),
      )
      .get(
        "/info",
        async ({ tenant }) => ({
          id: tenant.id,
          name: tenant.name,
          allowedFileTypes: allowedTypesOf(tenant),
          createdAt: new Date(tenant.createdAt).toISOString(),
          keyPrefix: tenant.keyPrefix,
          webhookSecret: await deps.tenants.webhookSecretOf(tenant),
        }),
        { detail: { summary: "Tenant info (includes the webhook signing secret)", ...bearer } },
      )
      .get("/quota", ({ tenant }) => quotaView(tenant), { detail: { summary: "Storage quota usage", ...bearer } })
      .post(
        "/keys",
        ({ tenant, body, set }) => {
          set.status = 201;
          return deps.access.issueUserKey(tenant, body);
        },
        {
          body: t.Object({
            userId: t.String({ minLength: 1, maxLength: 128, pattern: "^[A-Za-z0-9][A-Za-z0-9_.@-]*$" }),
            workspaceId: t.Optional(Uuid),
            scopes: t.Array(t.Union([t.Literal("read"), t.Literal("write"), t.Literal("delete")]), {
              minItems: 1,
              maxItems: 3,
            }),
            name: t.Optional(t.String({ maxLength: 100 })),
          }),
          detail: { summary: "Issue a user-scoped key for the storage module (shown once)", ...bearer },
        },
      )
      .get("/keys", ({ tenant }) => deps.access.listUserKeys(tenant.id), {
        detail: { summary: "List live user-scoped keys", ...bearer },
      })
      .delete(
        "/keys/:id",
        async ({ tenant, params }) => {
          await deps.access.revokeUserKey(tenant.id, params.id);
          return { success: true };
        },
        { params: t.Object({ id: Uuid }), detail: { summary: "Revoke a user-scoped key", ...bearer } },
      )
      .post(
        "/webhook-secret/rotate",
        async ({ tenant }) => ({ webhookSecret: await deps.tenants.rotateWebhookSecret(tenant.id) }),
        {
          detail: { summary: "Rotate the webhook signing secret", ...bearer },
        },
      )
  );
}
