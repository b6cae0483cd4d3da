import { Elysia, t } from "elysia";
import type { AuditService } from "../../domain/audit/audit.service";
import { MAX_FILE_SIZE_BYTES } from "../../domain/files/file-types";
import type { AccessService } from "../../domain/tenants/access.service";
import type { AdminAuthService } from "../../domain/tenants/admin-auth.service";
import type { AdminSessionCheck } from "../console-session";
import { adminAudit } from "../plugins/audit-trail";
import { adminAuth } from "../plugins/auth";
import { bearer, IdParams, routeConfig, Uuid } from "../schemas";

const PlanBody = {
  name: t.String({ minLength: 1, maxLength: 50 }),
  quotaBytes: t.Integer({ minimum: 0 }),
  maxFileSizeBytes: t.Integer({ minimum: 1, maximum: MAX_FILE_SIZE_BYTES }),
};

/** Plans (e.g. free / pro / team): an organization's quota follows its plan. Admin key only. */
export function adminPlansRoutes(deps: {
  adminAuth: AdminAuthService;
  access: AccessService;
  audit: AuditService;
  adminSession?: AdminSessionCheck;
}) {
  const d = (summary: string) => ({ detail: { summary, ...bearer } });
  return new Elysia(routeConfig({ prefix: "/api/v1/admin", tags: ["admin"] }))
    .use(adminAuth(deps.adminAuth, deps.adminSession))
    .use(adminAudit(deps.audit))
    .get("/plans", () => deps.access.listPlans(), d("List plans"))
    .post(
      "/plans",
      ({ body, set }) => {
        set.status = 201;
        return deps.access.createPlan(body);
      },
      { body: t.Object(PlanBody), ...d("Create a plan") },
    )
    .patch("/plans/:id", ({ params, body }) => deps.access.updatePlan(params.id, body), {
      params: IdParams,
      body: t.Object({
        name: t.Optional(PlanBody.name),
        quotaBytes: t.Optional(PlanBody.quotaBytes),
        maxFileSizeBytes: t.Optional(PlanBody.maxFileSizeBytes),
      }),
      ...d("Update a plan; a new quota applies to every tenant on it at once"),
    })
    .put("/tenants/:id/plan", ({ params, body }) => deps.access.assignPlan(params.id, body.planId), {
      params: IdParams,
      body: t.Object({ planId: t.Nullable(Uuid) }),
      ...d("Put a tenant on a plan (its quota becomes the plan's), or null to take it off"),
    });
}
