import { Elysia, t } from "elysia";
import type { TenantsService } from "../../domain/tenants/tenants.service";
import type { WorkspacesService } from "../../domain/workspaces/workspaces.service";
import { tenantAuth } from "../plugins/auth";
import { bearer, routeConfig, Uuid, WorkspaceCreateBody, WorkspacePatchBody } from "../schemas";

const Params = t.Object({ workspaceId: Uuid });

export function workspacesRoutes(deps: { tenants: TenantsService; workspaces: WorkspacesService }) {
  const ws = deps.workspaces;
  return new Elysia(routeConfig({ prefix: "/api/v1/workspaces", tags: ["workspaces"] }))
    .use(tenantAuth(deps.tenants))
    .get("/", ({ tenant }) => ws.list(tenant.id), { detail: { summary: "List workspaces", ...bearer } })
    .post(
      "/",
      ({ tenant, body, set }) => {
        set.status = 201;
        return ws.create(tenant.id, body);
      },
      { body: WorkspaceCreateBody, detail: { summary: "Create a workspace", ...bearer } },
    )
    .get("/:workspaceId", ({ tenant, params }) => ws.get(tenant.id, params.workspaceId), {
      params: Params,
      detail: { summary: "Get a workspace", ...bearer },
    })
    .patch("/:workspaceId", ({ tenant, params, body }) => ws.update(tenant.id, params.workspaceId, body), {
      params: Params,
      body: WorkspacePatchBody,
      detail: { summary: "Update a workspace", ...bearer },
    })
    .delete(
      "/:workspaceId",
      async ({ tenant, params }) => {
        await ws.delete(tenant.id, params.workspaceId);
        return { success: true };
      },
      { params: Params, detail: { summary: "Delete a workspace and soft-delete its files", ...bearer } },
    );
}
