import { Elysia, t } from "elysia";
import { MAX_FILE_SIZE_BYTES } from "../../domain/files/file-types";
import { AppError } from "../../domain/shared/errors";
import { CATEGORY_NAMES } from "../../domain/storage-module/categories";
import { DEFAULT_BUCKET, type StorageModuleService } from "../../domain/storage-module/storage-module.service";
import type { AccessService } from "../../domain/tenants/access.service";
import type { TenantsService } from "../../domain/tenants/tenants.service";
import { firstFilePart } from "../multipart";
import { authenticatePrincipal, principalAuth } from "../plugins/auth";
import { bearer, Cursor, Limit, queryInt, routeConfig } from "../schemas";

export interface StorageRoutesDeps {
  tenants: TenantsService;
  access: AccessService;
  storage: StorageModuleService;
}

// Path parameters are checked again by the service (strict alphabet, no "..", no encoded
// separators); these schemas only bound their length so hostile input fails fast.
const NameParams = t.Object({ name: t.String({ minLength: 1, maxLength: 255 }) });
const UserQuery = { userId: t.Optional(t.String({ minLength: 1, maxLength: 128 })) };
const MULTIPART_SLACK = 64 * 1024;

/** The Storage API module (`/api/v1/storage/*`), organization = tenant. Documented under the `storage` tag. */
export function storageRoutes(deps: StorageRoutesDeps) {
  const s = deps.storage;
  const d = (summary: string) => ({ detail: { summary, ...bearer } });
  // Streamed (`parse: "none"`), so not under principalAuth's body parsing: the key is checked in
  // `derive`, which runs before query validation and before the handler touches the body.
  const upload = new Elysia(routeConfig({ prefix: "/api/v1/storage", tags: ["storage"] }))
    .derive(async ({ request }) => ({ principal: await authenticatePrincipal(deps.tenants, deps.access, request) }))
    .post(
      "/upload",
      async ({ principal, request, query }) => {
        const length = Number(request.headers.get("content-length"));
        if (!request.headers.get("content-length") || !Number.isSafeInteger(length) || length <= 0) {
          throw new AppError(
            "VALIDATION_ERROR",
            "Content-Length is required: the quota is checked before the upload is accepted",
          );
        }
        if (length > MAX_FILE_SIZE_BYTES + MULTIPART_SLACK)
          throw new AppError("FILE_TOO_LARGE", `Upload exceeds the maximum of ${MAX_FILE_SIZE_BYTES} bytes`, {
            maxSize: MAX_FILE_SIZE_BYTES,
          });
        const part = await firstFilePart(request, MAX_FILE_SIZE_BYTES);
        const pick = (k: "bucket" | "category" | "userId") => query[k] ?? part.fields[k];
        return s.upload(principal, {
          bucket: pick("bucket") ?? DEFAULT_BUCKET,
          category: pick("category") ?? "general",
          userId: pick("userId"),
          fileName: part.fileName,
          contentType: part.contentType,
          bound: length,
          body: part.stream,
          signal: request.signal,
        });
      },
      {
        parse: "none",
        query: t.Object({
          bucket: t.Optional(t.String({ maxLength: 100 })),
          category: t.Optional(t.String({ maxLength: 32 })),
          ...UserQuery,
        }),
        detail: {
          summary: `Upload a file (multipart/form-data, part 'file'; bucket, category (${CATEGORY_NAMES.join(", ")}) and userId as query or fields before the file). Streamed; quota checked first.`,
          ...bearer,
        },
      },
    );

  const authed = new Elysia(routeConfig({ prefix: "/api/v1/storage", tags: ["storage"] }))
    .use(principalAuth(deps.tenants, deps.access))
    .get(
      "/buckets",
      ({ principal }) => s.buckets(principal),
      d("List buckets: 'default' plus one per workspace (by slug)"),
    )
    .get(
      "/buckets/:bucket/objects",
      ({ principal, params, query }) => s.bucketObjects(principal, params.bucket, query),
      {
        params: t.Object({ bucket: t.String({ minLength: 1, maxLength: 100 }) }),
        query: t.Object({ limit: Limit, cursor: Cursor, ...UserQuery }),
        ...d("List objects in a bucket (a user key: its own files only)"),
      },
    )
    .get("/files", ({ principal, query }) => s.listFiles(principal, query), {
      query: t.Object({
        limit: Limit,
        cursor: Cursor,
        category: t.Optional(t.String({ maxLength: 32 })),
        bucket: t.Optional(t.String({ maxLength: 100 })),
        ...UserQuery,
      }),
      ...d(
        "List uploaded files with pagination (a user key: its own; an organization key: all, or one user's with userId)",
      ),
    })
    .get(
      "/objects/:name/metadata",
      ({ principal, params, query }) => s.metadata(principal, params.name, query.userId),
      {
        params: NameParams,
        query: t.Object(UserQuery),
        ...d("File metadata by stored name"),
      },
    )
    .get(
      "/objects/:name/presigned-url",
      ({ principal, params, query }) => s.presignedUrl(principal, params.name, query.expiresIn ?? 3600, query.userId),
      {
        params: NameParams,
        query: t.Object({ expiresIn: t.Optional(queryInt({ minimum: 60, maximum: 86400 })), ...UserQuery }),
        ...d("Presigned download URL with configurable expiry"),
      },
    )
    .delete(
      "/objects/:name",
      async ({ principal, params, query }) => {
        await s.delete(principal, params.name, query.userId);
        return { success: true };
      },
      { params: NameParams, query: t.Object(UserQuery), ...d("Delete a file (quota released)") },
    )
    .get("/usage", ({ principal, query }) => s.usage(principal, query.recalculate === "true"), {
      query: t.Object({ recalculate: t.Optional(t.Union([t.Literal("true"), t.Literal("false")])) }),
      ...d("Storage usage and quota, per category and per user; recalculate=true recomputes (organization key)"),
    })
    .get("/quota", ({ principal }) => s.quota(principal), d("Quota limits (plan, max file size, per-category limits)"));
  return new Elysia().use(upload).use(authed);
}
