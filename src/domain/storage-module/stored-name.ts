import { randomUUID } from "node:crypto";

/**
 * The Storage API module's naming scheme: `{original_name}_{YYYYMMDD_HHMMSS}_{uuid8}.{ext}`,
 * built only from a safe alphabet so a stored name can never carry a path, and unique (the
 * uuid8, plus a unique index per folder). Original names are kept for display.
 */
export function storedNameFor(originalName: string, now: number, uuid8 = randomUUID().slice(0, 8)): string {
  const normalized = originalName.normalize("NFKC");
  const dot = normalized.lastIndexOf(".");
  const rawExt = dot > 0 ? normalized.slice(dot + 1) : "";
  const ext = /^[A-Za-z0-9]{1,10}$/.test(rawExt) ? rawExt.toLowerCase() : "";
  const base =
    (dot > 0 && ext ? normalized.slice(0, dot) : normalized)
      .replace(/[^A-Za-z0-9._-]+/g, "_")
      .replace(/^[._-]+|[._-]+$/g, "")
      .replace(/\.{2,}/g, "_")
      .slice(0, 100) || "file";
  const d = new Date(now);
  const p = (n: number, w = 2) => String(n).padStart(w, "0");
  const stamp = `${d.getUTCFullYear()}${p(d.getUTCMonth() + 1)}${p(d.getUTCDate())}_${p(d.getUTCHours())}${p(d.getUTCMinutes())}${p(d.getUTCSeconds())}`;
  return `${base}_${stamp}_${uuid8}${ext ? `.${ext}` : ""}`;
}

/** What a `{name}` path parameter may look like: exactly the shapes storedNameFor produces. */
export const STORED_NAME_PATTERN = /^[A-Za-z0-9][A-Za-z0-9_-]*(\.[A-Za-z0-9_-]+)*$/;

export function isValidStoredName(name: string): boolean {
  return name.length <= 160 && STORED_NAME_PATTERN.test(name) && !name.includes("..");
}

/** The module's logical path of a file. */
export function logicalPath(tenantId: string, userId: string | null, storedName: string): string {
  return `organizations/${tenantId}/files/${userId ?? "_organization"}/${storedName}`;
}
