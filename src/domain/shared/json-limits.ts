import { validation } from "./errors";

/**
 * Bounds for free-form JSON that callers may store (workspace metadata, tags): it is kept in the
 * database and sent back on every listing, so its shape must stay small and shallow. Without
 * bounds one tenant stored metadata nested 10,000 levels deep and every later list of its
 * workspaces failed with a stack overflow. Documented in docs/api.md ("Free-form JSON fields").
 */
export const FREEFORM_LIMITS = {
  /** Nesting levels, the field's own object counting as 1: `{"a":{"b":1}}` is depth 2. */
  maxDepth: 10,
  /** Object keys in total, at every level. */
  maxKeys: 100,
  /** Size of the field serialized as JSON, in UTF-8 bytes. */
  maxBytes: 16 * 1024,
} as const;

/**
 * Throws 400 VALIDATION_ERROR (naming the field and the limit) when `value` is deeper, has more
 * keys or is larger than FREEFORM_LIMITS. Walks iteratively, so hostile depth cannot overflow
 * the stack here either.
 */
export function assertFreeformJson(field: string, value: unknown, limits = FREEFORM_LIMITS): void {
  if (value === null || value === undefined) return;
  let keys = 0;
  const stack: { v: unknown; depth: number }[] = [{ v: value, depth: 1 }];
  while (stack.length > 0) {
    const { v, depth } = stack.pop() as { v: unknown; depth: number };
    if (v === null || typeof v !== "object") continue;
    if (depth > limits.maxDepth)
      throw validation(`${field} is nested deeper than ${limits.maxDepth} levels`, {
        field,
        maxDepth: limits.maxDepth,
      });
    const children = Array.isArray(v) ? v : Object.values(v as Record<string, unknown>);
    if (!Array.isArray(v)) {
      keys += children.length;
      if (keys > limits.maxKeys)
        throw validation(`${field} has more than ${limits.maxKeys} keys`, { field, maxKeys: limits.maxKeys });
    }
    for (const c of children) stack.push({ v: c, depth: depth + 1 });
  }
  const bytes = Buffer.byteLength(JSON.stringify(value));
  if (bytes > limits.maxBytes)
    throw validation(`${field} is larger than ${limits.maxBytes} bytes as JSON`, { field, maxBytes: limits.maxBytes });
}
