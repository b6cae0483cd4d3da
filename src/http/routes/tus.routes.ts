import { Elysia, t } from "elysia";
import { AppError, validation } from "../../domain/shared/errors";
import type { AccessService } from "../../domain/tenants/access.service";
import type { TenantsService } from "../../domain/tenants/tenants.service";
import type { TusService, TusUploadView } from "../../domain/uploads/tus.service";
import { authenticatePrincipal } from "../plugins/auth";
import { pathOf } from "../request-path";
import { bearer, routeConfig, Uuid } from "../schemas";

export interface TusRoutesDeps {
  tenants: TenantsService;
  access: AccessService;
  tus: TusService;
}

const PREFIX = "/api/v1/uploads/tus";
const TUS_VERSION = "1.0.0";
const EXTENSIONS = "creation,creation-with-upload,termination,expiration,checksum";
const OFFSET_STREAM = "application/offset+octet-stream";
const UPLOAD_PATH = /^\/api\/v1\/uploads\/tus\/([0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12})\/?$/i;
const isTusPath = (path: string) => path === PREFIX || path.startsWith(`${PREFIX}/`);

/** Headers a browser may send and read on tus requests (merged into the CORS settings in app.ts). */
export const TUS_REQUEST_HEADERS = [
  "Tus-Resumable",
  "Upload-Length",
  "Upload-Offset",
  "Upload-Metadata",
  "Upload-Checksum",
  "Upload-Defer-Length",
  "Upload-Concat",
];
export const TUS_RESPONSE_HEADERS = [
  "Location",
  "Tus-Resumable",
  "Tus-Version",
  "Tus-Extension",
  "Tus-Max-Size",
  "Tus-Checksum-Algorithm",
  "Upload-Offset",
  "Upload-Length",
  "Upload-Expires",
  "Upload-Metadata",
  "Storage-Brain-File-Id",
];

/**
 * Discovery headers on OPTIONS. Registered before the CORS plugin, which answers every OPTIONS
 * request itself (preflight or not): this only adds the tus headers to that answer.
 */
export function tusDiscovery(maxSize: number) {
  return new Elysia({ name: "tus-discovery" }).onRequest(({ request, set }) => {
    if (request.method !== "OPTIONS" || !isTusPath(pathOf(request.url))) return;
    set.headers["tus-resumable"] = TUS_VERSION;
    set.headers["tus-version"] = TUS_VERSION;
    set.headers["tus-extension"] = EXTENSIONS;
    set.headers["tus-max-size"] = String(maxSize);
    set.headers["tus-checksum-algorithm"] = "sha256";
  });
}

function requireTusVersion(request: Request) {
  const v = request.headers.get("tus-resumable");
  if (v !== TUS_VERSION)
    throw new AppError("TUS_VERSION_UNSUPPORTED", `Tus-Resumable must be ${TUS_VERSION}`, { supported: [TUS_VERSION] });
}

function integerHeader(request: Request, name: string): number | null {
  const h = request.headers.get(name);
  if (h === null) return null;
  if (!/^\d{1,16}$/.test(h)) throw validation(`${name} must be a non-negative integer`, { field: name });
  return Number(h);
}

function uploadHeaders(v: TusUploadView): Record<string, string> {
  const h: Record<string, string> = {
    "tus-resumable": TUS_VERSION,
    "upload-offset": String(v.offset),
    "upload-length": String(v.length),
    "storage-brain-file-id": v.fileId,
    "cache-control": "no-store",
  };
  if (v.expiresAt !== null) h["upload-expires"] = new Date(v.expiresAt).toUTCString();
  return h;
}

/**
 * tus 1.0 at /api/v1/uploads/tus (docs/api.md). Bearer tenant or user key on every request; the
 * upload URL is `/api/v1/uploads/tus/<fileId>`, the id of the file it becomes.
 */
export function tusRoutes(deps: TusRoutesDeps) {
  const { tus } = deps;
  const principal = (request: Request) => authenticatePrincipal(deps.tenants, deps.access, request);
  const body = (request: Request) => ({
    body: request.body,
    contentLength: integerHeader(request, "content-length"),
    checksum: request.headers.get("upload-checksum"),
    signal: request.signal,
  });

  return (
    new Elysia(routeConfig({ prefix: PREFIX, tags: ["upload"] }))
      // Every tus answer carries Tus-Resumable, errors included.
      .onRequest(({ request, set }) => {
        const path = pathOf(request.url);
        if (!isTusPath(path)) return;
        set.headers["tus-resumable"] = TUS_VERSION;
        // HEAD is answered before routing (Elysia would run a GET route for it, and there is none).
        if (request.method !== "HEAD") return;
        const m = UPLOAD_PATH.exec(path);
        if (!m) return;
        return principal(request).then(async (p) => {
          requireTusVersion(request);
          const v = await tus.head(p, m[1]!);
          const h = uploadHeaders(v);
          if (v.metadata) h["upload-metadata"] = v.metadata;
          return new Response(null, { status: 200, headers: h });
        });
      })
      .post(
        "/",
        async ({ request }) => {
          const p = await principal(request);
          requireTusVersion(request);
          const created = await tus.create(p, {
            length: request.headers.get("upload-length"),
            deferLength: request.headers.get("upload-defer-length"),
            metadata: request.headers.get("upload-metadata"),
            workspaceHeader: request.headers.get("x-workspace-id")?.trim() || undefined,
          });
          let view: TusUploadView = created;
          // creation-with-upload: the body is the first PATCH. Whatever it manages is kept; the
          // upload exists either way, so the answer is 201 with the offset reached.
          if (request.body && (request.headers.get("content-type") ?? "").startsWith(OFFSET_STREAM)) {
            view = await tus.append(p, created.fileId, { offset: 0, ...body(request) }).catch(async (err) => {
              if (!(err instanceof AppError) || err.status >= 500 || err.code === "INVALID_FILE_TYPE") throw err;
              return tus.head(p, created.fileId);
            });
          }
          const h = uploadHeaders(view);
          h.location = tus.locationOf(created.fileId);
          return new Response(null, { status: 201, headers: h });
        },
        {
          parse: "none",
          detail: {
            summary: "tus: create an upload (Upload-Length, Upload-Metadata); reserves quota for Upload-Length",
            ...bearer,
          },
        },
      )
      .patch(
        "/:fileId",
        async ({ request, params }) => {
          const p = await principal(request);
          requireTusVersion(request);
          if (!(request.headers.get("content-type") ?? "").startsWith(OFFSET_STREAM))
            throw new AppError("UNSUPPORTED_MEDIA_TYPE", `Content-Type must be ${OFFSET_STREAM}`);
          const offset = integerHeader(request, "upload-offset");
          if (offset === null) throw validation("Upload-Offset is required", { field: "Upload-Offset" });
          const v = await tus.append(p, params.fileId, { offset, ...body(request) });
          return new Response(null, { status: 204, headers: uploadHeaders(v) });
        },
        {
          parse: "none",
          params: t.Object({ fileId: Uuid }),
          detail: { summary: "tus: append bytes at Upload-Offset (409 if it is not the upload's offset)", ...bearer },
        },
      )
      .delete(
        "/:fileId",
        async ({ request, params }) => {
          const p = await principal(request);
          requireTusVersion(request);
          await tus.terminate(p, params.fileId);
          return new Response(null, { status: 204, headers: { "tus-resumable": TUS_VERSION } });
        },
        {
          parse: "none",
          params: t.Object({ fileId: Uuid }),
          detail: { summary: "tus: terminate an unfinished upload (releases its reservation)", ...bearer },
        },
      )
  );
}
