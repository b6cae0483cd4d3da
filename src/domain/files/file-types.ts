/**
 * File types: these six are the default set of a new tenant (docs/api.md, "Uploads"); an admin may set a
 * tenant's `allowedFileTypes` to any list of well-formed MIME types, or to null = any
 * well-formed type. Content is checked by magic bytes wherever the declared type has a signature
 * `file-type` knows (see type-check.ts); types without one are accepted as declared.
 */
export const DEFAULT_FILE_TYPES = [
  "image/jpeg",
  "image/png",
  "image/webp",
  "image/gif",
  "image/avif",
  "application/pdf",
] as const;

export const MAX_FILE_SIZE_BYTES = 104_857_600;

/**
 * A well-formed MIME type (lower case, RFC 6838 restricted-name characters, no parameters). The
 * HTTP schemas validate with this same pattern, so the OpenAPI description states the rule.
 */
export const MIME_PATTERN = "^[a-z0-9][a-z0-9!#$&^_.+-]{0,126}/[a-z0-9][a-z0-9!#$&^_.+-]{0,126}$";
const MIME = new RegExp(MIME_PATTERN);

export function isWellFormedMime(value: string): boolean {
  return MIME.test(value);
}

/** The tenant's accepted types; null = any well-formed MIME type. */
export function allowedTypesOf(tenant: { allowedFileTypes: string[] | null }): readonly string[] | null {
  return tenant.allowedFileTypes;
}

/** True if `mime` is well formed and in `allowed` (null = any type). */
export function isTypeAllowed(allowed: readonly string[] | null, mime: string): boolean {
  return isWellFormedMime(mime) && (allowed === null || allowed.includes(mime));
}

/**
 * Types a browser may render from our origin when a download asks for `inline`: raster images
 * and PDF. Everything else (HTML, SVG, text, scripts, unknown types a tenant may accept) is
 * always served as an attachment; nosniff and a sandbox CSP are sent in every case.
 */
const INLINE_SAFE_TYPES: ReadonlySet<string> = new Set([
  "image/jpeg",
  "image/png",
  "image/webp",
  "image/gif",
  "image/avif",
  "application/pdf",
]);

export function dispositionFor(fileType: string, requested: "inline" | "attachment" | undefined) {
  return requested === "inline" && INLINE_SAFE_TYPES.has(fileType) ? "inline" : "attachment";
}
