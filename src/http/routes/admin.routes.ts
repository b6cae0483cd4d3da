import { Elysia, t } from "elysia";
import type { AuditService } from "../../domain/audit/audit.service";
import type { FilesService } from "../../domain/files/files.service";
import type { AdminAuthService } from "../../domain/tenants/admin-auth.service";
import { quotaView, type TenantsService, tenantView } from "../../domain/tenants/tenants.service";
import type { UploadsService } from "../../domain/uploads/uploads.service";
import { MAX_MOVE_FILE_IDS, type WorkspacesService } from "../../domain/workspaces/workspaces.service";
import type { AdminSessionCheck } from "../console-session";
import { adminAudit } from "../plugins/audit-trail";
import { adminAuth } from "../plugins/auth";
import {
  bearer,
  Cursor,
  FileListQuery,
  IdParams,
  Limit,
  MimeType,
  routeConfig,
  SignedUrlQuery,
  UploadRequestBody,
  Uuid,
  WorkspaceCreateBody,
  WorkspacePatchBody,
} from "../schemas";

export interface AdminRoutesDeps {
  adminAuth: AdminAuthService;
  tenants: TenantsService;
  files: FilesService;
  uploads: UploadsService;
  workspaces: WorkspacesService;
  audit: AuditService;
  /** The admin console's session cookie as an alternative to the key (http/console-session.ts). */
  adminSession?: AdminSessionCheck;
}

const TenantFileParams = t.Object({ id: Uuid, fileId: Uuid });
const detail = (summary: string) => ({ detail: { summary, ...bearer } });

/** Admin API (admin key only): tenants, their keys and quotas, and views over their files. */
export function adminRoutes(deps: AdminRoutesDeps) {
  const { tenants, files } = deps;
  return new Elysia(routeConfig({ prefix: "/api/v1/admin", tags: ["admin"] }))
    .use(adminAuth(deps.adminAuth, deps.adminSession))
    .use(adminAudit(deps.audit))
    .post(
      "/tenants",
      async ({ body, set }) => {
        const { tenant, apiKey } = await tenants.create(body);
        set.status = 201;
        return {
          id: tenant.id,
          name: tenant.name,
          apiKey,
          quotaBytes: tenant.quotaBytes,
          allowedFileTypes: tenantView(tenant).allowedFileTypes,
        };
      },
      {
        body: t.Object({
          name: t.String({ minLength: 1, maxLength: 100 }),
          quotaBytes: t.Optional(t.Integer({ minimum: 0 })),
          allowedFileTypes: t.Optional(
            t.Nullable(t.Array(MimeType, { minItems: 1, maxItems: 100, uniqueItems: true })),
          ),
        }),
        ...detail("Create a tenant; the API key is returned once"),
      },
    )
    .get("/tenants", ({ query }) => tenants.list(query.limit ?? 20, query.cursor), {
      query: t.Object({ limit: Limit, cursor: Cursor }),
      ...detail("List tenants"),
    })
    .get(
      "/tenants/:id",
      async ({ params }) => {
        const tenant = await tenants.get(params.id);
        return { ...tenantView(tenant), quota: quotaView(tenant) };
      },
      { params: IdParams, ...detail("Get a tenant with its quota") },
    )
    .patch("/tenants/:id", async ({ params, body }) => tenantView(await tenants.update(params.id, body)), {
      params: IdParams,
      body: t.Object({
        name: t.Optional(t.String({ minLength: 1, maxLength: 100 })),
        quotaBytes: t.Optional(t.Integer({ minimum: 0 })),
        allowedFileTypes: t.Optional(t.Nullable(t.Array(MimeType, { minItems: 1, maxItems: 100, uniqueItems: true }))),
      }),
      ...detail("Update a tenant (lowering the quota below usage blocks uploads, deletes nothing)"),
    })
    .delete(
      "/tenants/:id",
      async ({ params, query }) => {
        await tenants.delete(params.id, query.force === "true");
        return { success: true };
      },
      {
        params: IdParams,
        query: t.Object({ force: t.Optional(t.Union([t.Literal("true"), t.Literal("false")])) }),
        ...detail("Delete a tenant (409 while it has files unless force=true)"),
      },
    )
    .post(
      "/tenants/:id/regenerate-key",
      async ({ params, body }) => ({
        ...(await tenants.regenerateKey(params.id, body?.graceSeconds ?? 0)),
        message: "API key regenerated successfully. Store this key securely.",
      }),
      {
        params: IdParams,
        body: t.Optional(
          t.Object({
            graceSeconds: t.Optional(
              t.Integer({
                minimum: 0,
                maximum: 2_592_000,
                description: "Seconds the replaced key keeps working (default 0: it stops at once; at most 30 days)",
              }),
            ),
          }),
        ),
        ...detail("Regenerate a tenant's API key; the old key stops working at once, or after graceSeconds"),
      },
    )
    .get("/tenants/:id/quota", async ({ params }) => quotaView(await tenants.get(params.id)), {
      params: IdParams,
      ...detail("A tenant's quota"),
    })
    .post("/tenants/:id/recalculate-usage", ({ params }) => tenants.recalculateUsage(params.id), {
      params: IdParams,
      ...detail("Recompute used/reserved bytes from the files table; reports the drift fixed"),
    })
    .post(
      "/tenants/:id/upload/request",
      async ({ params, body }) => deps.uploads.request(await tenants.get(params.id), body),
      {
        params: IdParams,
        body: UploadRequestBody,
        ...detail("Request an upload on a tenant's behalf"),
      },
    )
    .get(
      "/tenants/:id/files",
      async ({ params, query }) => {
        await tenants.get(params.id);
        return files.list(params.id, query);
      },
      {
        params: IdParams,
        query: FileListQuery,
        ...detail("List a tenant's files"),
      },
    )
    .get("/tenants/:id/files/:fileId", ({ params }) => files.get(params.id, params.fileId), {
      params: TenantFileParams,
      ...detail("Get a tenant's file"),
    })
    .get(
      "/tenants/:id/files/:fileId/signed-url",
      ({ params, query }) => files.signedUrl(params.id, params.fileId, query.expiresIn ?? 3600),
      {
        params: TenantFileParams,
        query: SignedUrlQuery,
        ...detail("Signed URL for a tenant's file"),
      },
    )
    .patch(
      "/tenants/:id/files/:fileId",
      ({ params, body }) => files.rename(params.id, params.fileId, body.originalName),
      {
        params: TenantFileParams,
        body: t.Object({ originalName: t.String({ minLength: 1, maxLength: 255 }) }),
        ...detail("Rename a tenant's file (metadata only)"),
      },
    )
    .delete(
      "/tenants/:id/files/:fileId",
      async ({ params }) => {
        await files.delete(params.id, params.fileId);
        return { success: true };
      },
      { params: TenantFileParams, ...detail("Soft-delete a tenant's file") },
    )
    .get(
      "/tenants/:id/workspaces",
      async ({ params }) => {
        await tenants.get(params.id);
        return deps.workspaces.list(params.id);
      },
      {
        params: IdParams,
        ...detail("List a tenant's workspaces"),
      },
    )
    .patch(
      "/tenants/:id/workspaces/:workspaceId",
      async ({ params, body }) => {
        await tenants.get(params.id);
        return deps.workspaces.update(params.id, params.workspaceId, body);
      },
      {
        params: t.Object({ id: Uuid, workspaceId: Uuid }),
        body: WorkspacePatchBody,
        ...detail("Update a tenant's workspace (e.g. its quota)"),
      },
    )
    .post(
      "/tenants/:id/workspaces",
      async ({ params, body, set }) => {
        await tenants.get(params.id);
        set.status = 201;
        return deps.workspaces.create(params.id, body);
      },
      { params: IdParams, body: WorkspaceCreateBody, ...detail("Create a workspace for a tenant") },
    )
    .get(
      // A static segment under /files, so it is never read as a :fileId.
      "/tenants/:id/files/contexts",
      async ({ params, query }) => {
        await tenants.get(params.id);
        return files.contexts(params.id, query.workspaceId);
      },
      {
        params: IdParams,
        query: t.Object({ workspaceId: t.Optional(Uuid) }),
        ...detail("File counts and bytes per context of a tenant's live files"),
      },
    )
    .post(
      "/tenants/:id/files/migrate-workspace",
      async ({ params, body }) => {
        await tenants.get(params.id);
        return deps.workspaces.moveFiles(params.id, body);
      },
      {
        params: IdParams,
        body: t.Object({
          workspaceId: Uuid,
          filter: t.Object(
            {
              tag: t.Optional(
                t.Object({ key: t.String({ minLength: 1, maxLength: 64 }), value: t.String({ maxLength: 256 }) }),
              ),
              fileIds: t.Optional(t.Array(Uuid, { maxItems: MAX_MOVE_FILE_IDS })),
            },
            { description: "Exactly one of tag or fileIds" },
          ),
          onlyUnassigned: t.Optional(t.Boolean({ default: true })),
        }),
        ...detail(
          "Move a tenant's settled files (by tag or ids) into one of its workspaces; refused whole with 403 if it would exceed the workspace quota",
        ),
      },
    );
}
