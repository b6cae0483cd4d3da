/**
 * Ceiling for metadata routes: bare Elysia + bun:sqlite on the same seeded database, doing the
 * same work per request as the real routes minus their framework layers: Bearer key → SHA-256 →
 * tenant lookup, then one prepared query (keyset page with a row-value comparison, which SQLite
 * turns into an index seek, plus the file_stats total; or a primary-key get) and JSON out.
 */
import { Database } from "bun:sqlite";
import { createHash } from "node:crypto";
import { Elysia } from "elysia";

const db = new Database(process.env.DB_PATH!, { readonly: true });
const tenantByHash = db.query<{ id: string }, [string]>("SELECT id FROM tenants WHERE api_key_hash = ?");
const page = db.query(
  `SELECT * FROM files WHERE tenant_id = ?1 AND deleted_at IS NULL AND (created_at, id) < (?2, ?3)
   ORDER BY created_at DESC, id DESC LIMIT ?4`,
);
const total = db.query<{ n: number }, [string]>(
  "SELECT coalesce(sum(file_count), 0) AS n FROM file_stats WHERE tenant_id = ?",
);
const byId = db.query("SELECT * FROM files WHERE id = ?1 AND tenant_id = ?2 AND deleted_at IS NULL");

function tenantOf(req: Request): string | null {
  const key = req.headers.get("authorization")?.slice(7) ?? "";
  return tenantByHash.get(createHash("sha256").update(key).digest("hex"))?.id ?? null;
}

new Elysia()
  .get("/health", () => "ok")
  .get("/api/v1/files", ({ request, query, set }) => {
    const tenant = tenantOf(request);
    if (!tenant) {
      set.status = 401;
      return { error: "unauthorized" };
    }
    const limit = Number(query.limit ?? 20);
    const c = query.cursor
      ? JSON.parse(Buffer.from(query.cursor, "base64url").toString())
      : { c: Number.MAX_SAFE_INTEGER, i: "" };
    const rows = page.all(tenant, c.c, c.i, limit + 1) as { created_at: number; id: string }[];
    const last = rows[Math.min(limit, rows.length) - 1];
    const nextCursor =
      rows.length > limit && last
        ? Buffer.from(JSON.stringify({ c: last.created_at, i: last.id })).toString("base64url")
        : null;
    return { files: rows.slice(0, limit), nextCursor, total: total.get(tenant)!.n };
  })
  .get("/api/v1/files/:id", ({ request, params, set }) => {
    const tenant = tenantOf(request);
    if (!tenant) {
      set.status = 401;
      return { error: "unauthorized" };
    }
    const row = byId.get(params.id, tenant);
    if (row) return row;
    set.status = 404;
    return { error: "not found" };
  })
  .listen({ port: Number(process.env.PORT), hostname: "127.0.0.1" });
