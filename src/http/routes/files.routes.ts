import { Elysia, t } from "elysia";
import type { FilesService } from "../../domain/files/files.service";
import type { Clock } from "../../domain/shared/clock";
import type { TenantsService } from "../../domain/tenants/tenants.service";
import type { WorkspacesService } from "../../domain/workspaces/workspaces.service";
import { downloadResponse } from "../download";
import { authenticateTenant, tenantAuth } from "../plugins/auth";
import { workspaceFromHeader } from "../plugins/workspace-header";
import {
  bearer,
  ExpiresAt,
  FileIdParams,
  FileListQuery,
  FileName,
  routeConfig,
  SignedUrlQuery,
  Uuid,
} from "../schemas";

export interface FilesRoutesDeps {
  tenants: TenantsService;
  files: FilesService;
  workspaces: WorkspacesService;
  clock: Clock;
}

const DownloadQuery = t.Object({
  token: t.Optional(t.String({ maxLength: 128 })),
  expires: ExpiresAt,
  disposition: t.Optional(t.Union([t.Literal("inline"), t.Literal("attachment")])),
});

const HEAD_DOWNLOAD = /^\/api\/v1\/files\/([0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12})\/download$/i;

/** Files of the authenticated tenant, and downloads (Bearer key or signed token). */
export function filesRoutes(deps: FilesRoutesDeps) {
  const { files } = deps;

  // Downloads authenticate themselves: a signed URL needs no Authorization header.
  const download = new Elysia(routeConfig({ prefix: "/api/v1/files", tags: ["files"] }));
  const downloadHandler = async ({
    request,
    params,
    query,
  }: {
    request: Request;
    params: { fileId: string };
    query: { token?: string; expires?: number; disposition?: "inline" | "attachment" };
  }) => {
    if (query.token !== undefined && query.expires !== undefined) {
      const file = await files.fileForToken(params.fileId, query.token, query.expires);
      const maxAge =
        query.expires === 0 ? 31_536_000 : Math.max(0, Math.floor((query.expires - deps.clock.now()) / 1000));
      const cacheControl = query.expires === 0 ? `private, max-age=${maxAge}, immutable` : `private, max-age=${maxAge}`;
      return downloadResponse({ request, file: files.content(file), cacheControl, disposition: query.disposition });
    }
    const tenant = await authenticateTenant(deps.tenants, request);
    const file = await files.getRow(tenant.id, params.fileId);
    return downloadResponse({
      request,
      file: files.content(file),
      cacheControl: "private, no-cache",
      disposition: query.disposition,
    });
  };
  const downloadSchema = { params: FileIdParams, query: DownloadQuery };
  download
    // Elysia 1.4 answers HEAD on a dynamic path by running the GET handler and reading the whole
    // body to count it (even when a HEAD route exists), which would decrypt the entire file.
    // HEAD downloads are therefore answered here, before routing, from metadata alone.
    .onRequest(({ request }) => {
      if (request.method !== "HEAD") return;
      const url = new URL(request.url);
      const fileId = HEAD_DOWNLOAD.exec(url.pathname)?.[1];
      if (!fileId) return;
      const q = url.searchParams;
      const expires = q.get("expires");
      const disposition = q.get("disposition");
      return downloadHandler({
        request,
        params: { fileId },
        query: {
          token: q.get("token") ?? undefined,
          expires: expires === null || !/^\d{1,16}$/.test(expires) ? undefined : Number(expires),
          disposition: disposition === "inline" || disposition === "attachment" ? disposition : undefined,
        },
      });
    })
    .get("/:fileId/download", downloadHandler, {
      ...downloadSchema,
      detail: {
        summary: "Download (Bearer key, or token + expires of a signed URL); supports Range and HEAD",
        ...bearer,
      },
    });

  const authed = new Elysia(routeConfig({ prefix: "/api/v1/files", tags: ["files"] }))
    .use(tenantAuth(deps.tenants))
    .get(
      "/",
      async ({ tenant, query, request }) =>
        await files.list(tenant.id, {
          ...query,
          workspaceId: await workspaceFromHeader(deps.workspaces, tenant.id, request, query.workspaceId),
        }),
      {
        query: FileListQuery,
        detail: { summary: "List files (keyset pagination)", ...bearer },
      },
    )
    .get("/contexts", ({ tenant, query }) => files.contexts(tenant.id, query.workspaceId), {
      query: t.Object({ workspaceId: t.Optional(Uuid) }),
      detail: { summary: "File counts and bytes per context", ...bearer },
    })
    .get("/:fileId", ({ tenant, params }) => files.get(tenant.id, params.fileId), {
      params: FileIdParams,
      detail: { summary: "Get file metadata", ...bearer },
    })
    .patch("/:fileId", ({ tenant, params, body }) => files.rename(tenant.id, params.fileId, body.originalName), {
      params: FileIdParams,
      body: t.Object({ originalName: FileName }),
      detail: { summary: "Rename a file (metadata only)", ...bearer },
    })
    .delete(
      "/:fileId",
      async ({ tenant, params }) => {
        await files.delete(tenant.id, params.fileId);
        return { success: true };
      },
      { params: FileIdParams, detail: { summary: "Soft-delete a file", ...bearer } },
    )
    .get(
      "/:fileId/signed-url",
      ({ tenant, params, query }) => files.signedUrl(tenant.id, params.fileId, query.expiresIn ?? 3600),
      {
        params: FileIdParams,
        query: SignedUrlQuery,
        detail: { summary: "Time-limited signed download URL", ...bearer },
      },
    )
    .get("/:fileId/permanent-url", ({ tenant, params }) => files.permanentUrl(tenant.id, params.fileId), {
      params: FileIdParams,
      detail: { summary: "Non-expiring signed download URL", ...bearer },
    });

  return new Elysia().use(download).use(authed);
}
