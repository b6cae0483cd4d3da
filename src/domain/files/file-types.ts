/**
 * File types: the API reference's six are the default set; an admin may widen a tenant's
 * `allowedFileTypes` to any well-formed MIME type. Content is checked by magic bytes wherever
 * the declared type has a signature `file-type` knows.
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

const MIME = /^[a-z0-9][a-z0-9!#$&^_.+-]{0,126}\/[a-z0-9][a-z0-9!#$&^_.+-]{0,126}$/;

export function isWellFormedMime(value: string): boolean {
  return MIME.test(value);
}

export function allowedTypesOf(tenant: { allowedFileTypes: string[] | null }): string[] {
  return tenant.allowedFileTypes && tenant.allowedFileTypes.length > 0
    ? tenant.allowedFileTypes
    : [...DEFAULT_FILE_TYPES];
}
