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
  const chargeWorkspace = client.query(
    "UPDATE workspaces SET used_bytes = used_bytes + ?1 WHERE id = ?2 AND (quota_bytes IS NULL OR used_bytes + reserved_bytes + ?1 <= quota_bytes)",
  );
  const adjustTenant = client.query(
    "UPDATE tenants SET reserved_bytes = max(0, reserved_bytes + ?1), used_bytes = max(0, used_bytes + ?2) WHERE id = ?3",
  );
  const adjustWorkspace = client.query(
    "UPDATE workspaces SET reserved_bytes = max(0, reserved_bytes + ?1), used_bytes = max(0, used_bytes + ?2) WHERE id = ?3",
  );
  /**
   * Sets used/reserved bytes of `table` rows (optionally one tenant's) to the sums over their live
   * files and returns the rows that drifted. Identifiers are fixed strings from this file.
   */
  function fixDrift(
    table: "tenants" | "workspaces",
    fileColumn: "tenant_id" | "workspace_id",
    tenantColumn: "id" | "tenant_id",
    tenantId?: string,
  ) {
    const [t, fc, tc] = [sql.raw(table), sql.raw(fileColumn), sql.raw(tenantColumn)];
    const rows = db.all<{
      id: string;
      tenant_id: string;
      used_bytes: number;
      reserved_bytes: number;
      used: number;
      reserved: number;
    }>(sql`
      SELECT o.id, o.${tc} AS tenant_id, o.used_bytes, o.reserved_bytes,
        coalesce((SELECT sum(charged_bytes) FROM files f WHERE f.${fc} = o.id AND f.deleted_at IS NULL), 0) AS used,
        coalesce((SELECT sum(reserved_bytes) FROM files f WHERE f.${fc} = o.id AND f.deleted_at IS NULL), 0) AS reserved
      FROM ${t} o ${tenantId ? sql`WHERE o.${tc} = ${tenantId}` : sql``}`);
    const drift = rows.filter((r) => r.used !== r.used_bytes || r.reserved !== r.reserved_bytes);
    for (const r of drift)
      db.run(sql`UPDATE ${t} SET used_bytes = ${r.used}, reserved_bytes = ${r.reserved} WHERE id = ${r.id}`);
    return drift.map((r) => ({
      id: r.id,
      tenant_id: r.tenant_id,
      change: {
        usedBytes: { before: r.used_bytes, after: r.used },
        reservedBytes: { before: r.reserved_bytes, after: r.reserved },
      },
    }));
  }

  return {
    /** True when the bytes were reserved; false when the quota would be exceeded. */
    reserveTenant(tenantId: string, bytes: number): boolean {
      return reserveTenant.run(bytes, tenantId).changes === 1;
    },
    reserveWorkspace(workspaceId: string, bytes: number): boolean {
      return reserveWorkspace.run(bytes, workspaceId).changes === 1;
    },
    /**
     * Adds bytes already charged to the tenant to one workspace (files moving in), only if the
     * workspace's quota allows it; false = it doesn't and nothing changed.
     */
    chargeWorkspace(workspaceId: string, bytes: number): boolean {
      return chargeWorkspace.run(bytes, workspaceId).changes === 1;
    },
    /** Takes charged bytes off one workspace (files moving out); the tenant's counters stay. */
    unchargeWorkspace(workspaceId: string, bytes: number): void {
      adjustWorkspace.run(0, -bytes, workspaceId);
    },
    /** Moves counters by deltas (negative to release). Clamped at 0 so a bug can't wedge a tenant. */
    adjust(target: { tenantId: string; workspaceId: string | null }, reservedDelta: number, usedDelta: number): void {
      adjustTenant.run(reservedDelta, usedDelta, target.tenantId);
      if (target.workspaceId) adjustWorkspace.run(reservedDelta, usedDelta, target.workspaceId);
    },
    /** Recomputes used/reserved from the files table; returns the rows whose numbers changed. */
    recalculate(tenantId?: string) {
      return {
        tenants: fixDrift("tenants", "tenant_id", "id", tenantId).map((r) => ({ tenantId: r.id, ...r.change })),
        workspaces: fixDrift("workspaces", "workspace_id", "tenant_id", tenantId).map((r) => ({
          workspaceId: r.id,
          tenantId: r.tenant_id,
          ...r.change,
        })),
      };
    },
  };
}
