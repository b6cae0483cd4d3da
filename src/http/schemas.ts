import { t } from "elysia";
import { MAX_FILE_NAME_LENGTH } from "../domain/files/file-name";
import { MIME_PATTERN } from "../domain/files/file-types";

/** Shared request schemas (they double as the OpenAPI description). */
export const Uuid = t.String({ format: "uuid", description: "UUID" });
export const IdParams = t.Object({ id: Uuid });
export const FileIdParams = t.Object({ fileId: Uuid });
/**
 * An integer query value within [minimum, maximum]. Anything else — a fraction, a negative or
 * out-of-range number, a non-number — is 400 VALIDATION_ERROR before the handler runs. Every
 * numeric query parameter uses this (test/http/query-validation.test.ts checks each route's).
 */
export const queryInt = (o: { minimum: number; maximum: number; default?: number; description?: string }) =>
  t.Integer(o);
export const Limit = t.Optional(queryInt({ minimum: 1, maximum: 100, default: 20 }));
/** Expiry of a signed URL, epoch ms (0 = permanent). */
export const ExpiresAt = t.Optional(queryInt({ minimum: 0, maximum: Number.MAX_SAFE_INTEGER }));
export const Cursor = t.Optional(t.String({ maxLength: 512 }));
export const MimeType = t.String({
  pattern: MIME_PATTERN,
  description: "MIME type",
});
/**
 * A file name. The rule itself (NFC, 1-255 characters, no control/bidi characters, separators or
 * `<>:"|?*`) is the domain's checkFileName, applied after NFC; this bound only stops hostile sizes
 * early and is loose enough that a decomposed name which composes to 255 is still judged by the rule.
 */
export const FileName = t.String({
  minLength: 1,
  maxLength: 4 * MAX_FILE_NAME_LENGTH,
  description: `1-${MAX_FILE_NAME_LENGTH} characters after NFC; no control or bidi characters, path separators or <>:"|?*`,
});
export const FileListQuery = t.Object({
  limit: Limit,
  cursor: Cursor,
  context: t.Optional(t.String({ minLength: 1, maxLength: 100 })),
  fileType: t.Optional(t.String({ minLength: 1, maxLength: 255 })),
  workspaceId: t.Optional(Uuid),
});
export const SignedUrlQuery = t.Object({
  expiresIn: t.Optional(queryInt({ minimum: 60, maximum: 86400, default: 3600 })),
});
export const UploadRequestBody = t.Object({
  fileType: t.String({ minLength: 1, maxLength: 255 }),
  fileName: FileName,
  fileSizeBytes: t.Optional(t.Integer({ minimum: 1 })),
  context: t.Optional(t.String({ maxLength: 100 })),
  tags: t.Optional(
    t.Record(t.String({ minLength: 1, maxLength: 64 }), t.String({ maxLength: 256 }), { maxProperties: 32 }),
  ),
  webhookUrl: t.Optional(t.String({ format: "uri", pattern: "^https?://", maxLength: 2048 })),
  workspaceId: t.Optional(Uuid),
});
/** An external identity system's workspace a workspace is bound to; unique per tenant when set. */
const AuthWorkspaceId = t.Optional(t.Nullable(t.String({ minLength: 1, maxLength: 255 })));
export const WorkspaceCreateBody = t.Object({
  name: t.String({ minLength: 1, maxLength: 255 }),
  slug: t.String({ minLength: 1, maxLength: 100, pattern: "^[a-z0-9]+(?:-[a-z0-9]+)*$" }),
  quotaBytes: t.Optional(t.Nullable(t.Integer({ minimum: 0 }))),
  metadata: t.Optional(t.Nullable(t.Record(t.String({ maxLength: 128 }), t.Unknown(), { maxProperties: 100 }))),
  authWorkspaceId: AuthWorkspaceId,
});
export const WorkspacePatchBody = t.Object({
  name: t.Optional(t.String({ minLength: 1, maxLength: 255 })),
  quotaBytes: t.Optional(t.Nullable(t.Integer({ minimum: 0 }))),
  metadata: t.Optional(t.Nullable(t.Record(t.String({ maxLength: 128 }), t.Unknown(), { maxProperties: 100 }))),
  authWorkspaceId: AuthWorkspaceId,
});
export const bearer = { security: [{ bearerAuth: [] }] };

/**
 * Options for every route instance. Elysia's default normalizer ("exactMirror") copies a value
 * into the schema's shape *before* validating, which turns `"metadata": "x"` into `{"0":"x"}`
 * and accepts it; TypeBox's normalizer validates the value as sent.
 */
export const routeConfig = <T extends Record<string, unknown>>(opts: T) => ({ ...opts, normalize: "typebox" as const });
