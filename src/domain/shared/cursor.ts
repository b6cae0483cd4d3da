import { validation } from "./errors";

/**
 * Opaque keyset cursors: base64url of `{createdAt, id}` of the last row of a page. The next
 * page is the rows strictly after that position, so inserts between requests never shift or
 * repeat rows (unlike OFFSET).
 */
export interface CursorPosition {
  createdAt: number;
  id: string;
}

export function encodeCursor(p: CursorPosition): string {
  return Buffer.from(JSON.stringify({ c: p.createdAt, i: p.id })).toString("base64url");
}

export function decodeCursor(cursor: string): CursorPosition {
  try {
    const v = JSON.parse(Buffer.from(cursor, "base64url").toString("utf8"));
    if (typeof v?.c === "number" && Number.isFinite(v.c) && typeof v?.i === "string" && v.i.length <= 64) {
      return { createdAt: v.c, id: v.i };
    }
  } catch {
    // fall through
  }
  throw validation("Invalid cursor", { field: "cursor" });
}

/**
 * One keyset page: `fetch(n, after)` returns up to n rows after the cursor position, newest first.
 * One row more than asked is read to learn whether a next page exists.
 */
export async function keysetPage<T extends CursorPosition>(
  limit: number,
  cursor: string | undefined,
  fetch: (n: number, after?: CursorPosition) => Promise<T[]>,
) {
  const rows = await fetch(limit + 1, cursor ? decodeCursor(cursor) : undefined);
  const more = rows.length > limit;
  const items = more ? rows.slice(0, limit) : rows;
  const last = items[items.length - 1];
  return { items, nextCursor: more && last ? encodeCursor({ createdAt: last.createdAt, id: last.id }) : null };
}
