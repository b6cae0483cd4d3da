import { Elysia } from "elysia";
import type { AuditActor, AuditService } from "../../domain/audit/audit.service";
import { redact } from "../../domain/audit/audit.service";
import { clientAddress } from "../client-address";

/**
 * Action names for the audited routes, by "METHOD route-template" (the template without the
 * /api/v1 prefix). A route missing here is still recorded, under "METHOD template", so a new
 * admin route can't slip past the trail; add it here to give it a stable name.
 */
const ACTIONS: Record<string, string> = {
  "POST /admin/tenants": "tenant.create",
  "PATCH /admin/tenants/:id": "tenant.update",
  "DELETE /admin/tenants/:id": "tenant.delete",
  "POST /admin/tenants/:id/regenerate-key": "tenant.key.regenerate",
  "POST /admin/tenants/:id/recalculate-usage": "tenant.usage.recalculate",
  "POST /admin/tenants/:id/upload/request": "tenant.upload.request",
  "GET /admin/tenants/:id/files/:fileId/signed-url": "tenant.file.sign",
  "DELETE /admin/tenants/:id/files/:fileId": "tenant.file.delete",
  "PATCH /admin/tenants/:id/files/:fileId": "tenant.file.rename",
  "POST /admin/tenants/:id/webhooks": "webhook.create",
  "DELETE /admin/tenants/:id/webhooks/:webhookId": "webhook.delete",
  "POST /admin/tenants/:id/webhooks/deliveries/:deliveryId/retry": "webhook.delivery.retry",
  "POST /admin/tenants/:id/webhooks/test": "webhook.test",
  "POST /admin/session": "console.session.open",
  "DELETE /admin/session": "console.session.close",
  "POST /admin/tenants/:id/workspaces": "workspace.create",
  "POST /admin/tenants/:id/files/migrate-workspace": "workspace.migrate",
  "PATCH /admin/tenants/:id/workspaces/:workspaceId": "workspace.update",
  "PUT /admin/tenants/:id/plan": "tenant.plan.assign",
  "POST /admin/plans": "plan.create",
  "PATCH /admin/plans/:id": "plan.update",
  "POST /tenant/keys": "user-key.create",
  "DELETE /tenant/keys/:id": "user-key.revoke",
  "POST /tenant/webhook-secret/rotate": "tenant.webhook-secret.rotate",
};

/** Reads that still change who can do what (they mint a credential), so they are recorded too. */
const AUDITED_READS = new Set(["GET /admin/tenants/:id/files/:fileId/signed-url"]);

interface AuditContext {
  request: Request;
  route: string;
  params: Record<string, string | undefined>;
  body: unknown;
  responseValue: unknown;
}

/**
 * Records every successful state-changing request of the routes after it in the audit log
 * (failed ones change nothing and are not recorded). `actorOf` names who acted from the route's
 * context (admin key, tenant key, ...); `tenantOf` which tenant the action concerns.
 */
export function auditTrail<C>(
  audit: AuditService,
  opts: { actorOf: (ctx: C) => AuditActor; tenantOf: (ctx: C & AuditContext) => string | null | undefined },
) {
  return new Elysia().onAfterHandle({ as: "scoped" }, async (raw) => {
    const ctx = raw as unknown as C & AuditContext;
    ctx.params ??= {};
    const method = ctx.request.method;
    const template = ctx.route.replace(/^\/api\/v1/, "");
    const name = `${method} ${template}`;
    if (method === "GET" || method === "HEAD" || method === "OPTIONS") {
      if (!AUDITED_READS.has(name)) return;
    }
    const created = (ctx.responseValue as { id?: unknown } | null)?.id;
    let target = template.replace(/:(\w+)/g, (_, p: string) => ctx.params[p] ?? `:${p}`).replace(/^\/(admin\/)?/, "");
    if (method === "POST" && typeof created === "string" && !target.endsWith(created)) target += `/${created}`;
    await audit.record({
      actor: opts.actorOf(ctx),
      action: ACTIONS[name] ?? name,
      target,
      tenantId: opts.tenantOf(ctx) ?? null,
      // The connection's peer address; no proxy header is trusted here.
      address: clientAddress(ctx.request),
      details: redact(ctx.body),
    });
  });
}

/** The audit trail of the admin API: the actor is the admin key; the tenant is the one in the path. */
export function adminAudit(audit: AuditService) {
  return auditTrail<object>(audit, {
    actorOf: () => ({ type: "admin" }),
    tenantOf: (ctx) =>
      ctx.route.startsWith("/api/v1/admin/tenants")
        ? (ctx.params.id ?? (ctx.responseValue as { id?: string } | null)?.id)
        : null,
  });
}
