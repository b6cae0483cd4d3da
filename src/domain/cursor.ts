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
