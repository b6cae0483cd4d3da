import { Elysia, t } from "elysia";
import { clientStream } from "../../domain/shared/client-stream";
import { AppError, fileNotFound } from "../../domain/shared/errors";
import type { TenantsService } from "../../domain/tenants/tenants.service";
import type { UploadsService } from "../../domain/uploads/uploads.service";
import type { WorkspacesService } from "../../domain/workspaces/workspaces.service";
import { authenticateTenant, tenantAuth } from "../plugins/auth";
import { workspaceFromHeader } from "../plugins/workspace-header";
import { bearer, ExpiresAt, routeConfig, UploadRequestBody, Uuid } from "../schemas";

export interface UploadRoutesDeps {
  tenants: TenantsService;
  uploads: UploadsService;
  workspaces: WorkspacesService;
}

function contentLengthOf(request: Request): number | null {
  const h = request.headers.get("content-length");
  if (h === null) return null;
  const n = Number(h);
  if (!Number.isSafeInteger(n) || n < 0) throw new AppError("VALIDATION_ERROR", "Invalid Content-Length");
  return n;
}

/** Step 1 (request, Bearer) and step 2 (PUT to the presigned URL, Bearer or URL token). */
export function uploadRoutes(deps: UploadRoutesDeps) {
  const request = new Elysia(routeConfig({ prefix: "/api/v1/upload", tags: ["upload"] }))
    .use(tenantAuth(deps.tenants))
    .post(
      "/request",
      async ({ tenant, body, request }) =>
        await deps.uploads.request(tenant, {
          ...body,
          workspaceId: await workspaceFromHeader(deps.workspaces, tenant.id, request, body.workspaceId),
        }),
      { body: UploadRequestBody, detail: { summary: "Request a presigned upload URL (reserves quota)", ...bearer } },
    );

  const put = new Elysia(routeConfig({ tags: ["upload"] })).put(
    "/_internal/upload/tenants/:tenantId/files/:fileId/*",
    async ({ request, params, query }) => {
      if (query.token !== undefined || query.expires !== undefined) {
        if (query.token === undefined || query.expires === undefined)
          throw new AppError("UNAUTHORIZED", "Upload URL needs both token and expires");
        deps.uploads.checkUploadToken(params.fileId, params.tenantId, query.token, query.expires);
      } else {
        const tenant = await authenticateTenant(deps.tenants, request);
        if (tenant.id !== params.tenantId) throw fileNotFound(params.fileId);
      }
      return deps.uploads.receive({
        tenantId: params.tenantId,
        fileId: params.fileId,
        body: request.body && clientStream(request.body),
        contentLength: contentLengthOf(request),
        signal: request.signal,
      });
    },
    {
      // The body is streamed straight into encryption and storage, never parsed or buffered.
      parse: "none",
      params: t.Object({ tenantId: Uuid, fileId: Uuid }, { additionalProperties: true }),
      query: t.Object({
        token: t.Optional(t.String({ maxLength: 128 })),
        expires: ExpiresAt,
      }),
      detail: { summary: "Upload the file bytes (exactly fileSizeBytes); Bearer key or the URL's token", ...bearer },
    },
  );
  return new Elysia().use(request).use(put);
}
