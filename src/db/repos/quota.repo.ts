import { sql } from "drizzle-orm";
import type { Db } from "../client";

/**
 * Quota counters on tenants and workspaces. Every change is one conditional UPDATE, run inside
 * the caller's transaction: a reservation succeeds only if `used + reserved + n <= quota` holds
 * at the moment of the write, so concurrent requests can never overshoot.
 */
export function createQuotaRepo(db: Db) {
  const client = db.$client;
  const reserveTenant = client.query(
    "UPDATE tenants SET reserved_bytes = reserved_bytes + ?1 WHERE id = ?2 AND used_bytes + reserved_bytes + ?1 <= quota_bytes",
  );
  const reserveWorkspace = client.query(
    "UPDATE workspaces SET reserved_bytes = reserved_bytes + ?1 WHERE id = ?2 AND (quota_bytes IS NULL OR used_bytes + reserved_bytes + ?1 <= quota_bytes)",
  );
  const adjustTenant = client.query(
    "UPDATE tenants SET reserved_bytes = max(0, reserved_bytes + ?1), used_bytes = max(0, used_bytes + ?2) WHERE id = ?3",
  );
  const adjustWorkspace = client.query(
    "UPDATE workspaces SET reserved_bytes = max(0, reserved_bytes + ?1), used_bytes = max(0, used_bytes + ?2) WHERE id = ?3",
  );
  return {
    /** True when the bytes were reserved; false when the quota would be exceeded. */
    reserveTenant(tenantId: string, bytes: number): boolean {
      return reserveTenant.run(bytes, tenantId).changes === 1;
    },
    reserveWorkspace(workspaceId: string, bytes: number): boolean {
      return reserveWorkspace.run(bytes, workspaceId).changes === 1;
    },
    /** Moves counters by deltas (negative to release). Clamped at 0 so a bug can't wedge a tenant. */
    adjust(target: { tenantId: string; workspaceId: string | null }, reservedDelta: number, usedDelta: number): void {
      adjustTenant.run(reservedDelta, usedDelta, target.tenantId);
      if (target.workspaceId) adjustWorkspace.run(reservedDelta, usedDelta, target.workspaceId);
    },
    /** Recomputes used/reserved from the files table; returns the rows whose numbers changed. */
    recalculate(tenantId?: string) {
      const where = tenantId ? sql`WHERE t.id = ${tenantId}` : sql``;
      const rows = db.all<{ id: string; used_bytes: number; reserved_bytes: number; used: number; reserved: number }>(sql`
        SELECT t.id, t.used_bytes, t.reserved_bytes,
          coalesce((SELECT sum(charged_bytes) FROM files f WHERE f.tenant_id = t.id AND f.deleted_at IS NULL), 0) AS used,
          coalesce((SELECT sum(reserved_bytes) FROM files f WHERE f.tenant_id = t.id AND f.deleted_at IS NULL), 0) AS reserved
        FROM tenants t ${where}`);
      const drift = rows.filter((r) => r.used !== r.used_bytes || r.reserved !== r.reserved_bytes);
      for (const r of drift) db.run(sql`UPDATE tenants SET used_bytes = ${r.used}, reserved_bytes = ${r.reserved} WHERE id = ${r.id}`);
      const wsWhere = tenantId ? sql`WHERE w.tenant_id = ${tenantId}` : sql``;
      const wsRows = db.all<{ id: string; tenant_id: string; used_bytes: number; reserved_bytes: number; used: number; reserved: number }>(sql`
        SELECT w.id, w.tenant_id, w.used_bytes, w.reserved_bytes,
          coalesce((SELECT sum(charged_bytes) FROM files f WHERE f.workspace_id = w.id AND f.deleted_at IS NULL), 0) AS used,
          coalesce((SELECT sum(reserved_bytes) FROM files f WHERE f.workspace_id = w.id AND f.deleted_at IS NULL), 0) AS reserved
        FROM workspaces w ${wsWhere}`);
      const wsDrift = wsRows.filter((r) => r.used !== r.used_bytes || r.reserved !== r.reserved_bytes);
      for (const r of wsDrift) db.run(sql`UPDATE workspaces SET used_bytes = ${r.used}, reserved_bytes = ${r.reserved} WHERE id = ${r.id}`);
      return {
        tenants: drift.map((r) => ({ tenantId: r.id, usedBytes: { before: r.used_bytes, after: r.used }, reservedBytes: { before: r.reserved_bytes, after: r.reserved } })),
        workspaces: wsDrift.map((r) => ({ workspaceId: r.id, tenantId: r.tenant_id, usedBytes: { before: r.used_bytes, after: r.used }, reservedBytes: { before: r.reserved_bytes, after: r.reserved } })),
      };
    },
  };
}
export type QuotaRepo = ReturnType<typeof createQuotaRepo>;
