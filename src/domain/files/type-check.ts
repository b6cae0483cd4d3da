import { fileTypeFromBuffer, supportedMimeTypes } from "file-type";

/**
 * Checks the first bytes of the content against the declared type. Types `file-type` has no
 * signature for (text/plain, application/json, ...) pass unchecked: there is nothing to verify.
 * Returns null when the content matches, else the reason.
 */
export async function checkMagicBytes(declared: string, head: Uint8Array): Promise<string | null> {
  if (!supportedMimeTypes.has(declared as never)) return null;
  const detected = await fileTypeFromBuffer(head);
  if (detected?.mime === declared) return null;
  return detected ? `content is ${detected.mime}, not ${declared}` : `content does not look like ${declared}`;
}
