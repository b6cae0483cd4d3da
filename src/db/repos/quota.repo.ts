import { and, eq, isNull, or, sql } from "drizzle-orm";
import type { Connection } from "../connection";
import { dialectSql } from "../dialect-sql";

/**
 * Quota counters on tenants and workspaces. Every change is one conditional UPDATE, run inside
 * the caller's transaction: a reservation succeeds only if `used + reserved + n <= quota` holds
 * at the moment of the write, so concurrent requests can never overshoot.
 */
export function createQuotaRepo(conn: Connection) {
  const { tenants, workspaces } = conn.tables;
  const { greatest } = dialectSql(conn.dialect);
  const db = () => conn.exec();
  const P = (name: string) => sql.placeholder(name);
  const one = { one: sql`1` };
  // Prepared once: every upload request reserves and every settle adjusts.
  const reserveTenantQ = conn.prepared("quota_reserve_tenant", (db) =>
    db
      .update(tenants)
      .set({ reservedBytes: sql`${tenants.reservedBytes} + ${P("bytes")}` })
      .where(
        and(
          eq(tenants.id, P("id")),
          sql`${tenants.usedBytes} + ${tenants.reservedBytes} + ${P("bytes")} <= ${tenants.quotaBytes}`,
        ),
      )
      .returning(one),
  );
  /** Adds `bytes` to the workspace's `column` if its quota (if any) allows it. */
  const workspaceIncrease = (name: string, column: "reservedBytes" | "usedBytes") =>
    conn.prepared(name, (db) =>
      db
        .update(workspaces)
        .set({ [column]: sql`${workspaces[column]} + ${P("bytes")}` })
        .where(
          and(
            eq(workspaces.id, P("id")),
            or(
              isNull(workspaces.quotaBytes),
              sql`${workspaces.usedBytes} + ${workspaces.reservedBytes} + ${P("bytes")} <= ${workspaces.quotaBytes}`,
            ),
          ),
        )
        .returning(one),
    );
  const reserveWorkspaceQ = workspaceIncrease("quota_reserve_workspace", "reservedBytes");
  const chargeWorkspaceQ = workspaceIncrease("quota_charge_workspace", "usedBytes");
  const adjustTenantQ = conn.prepared("quota_adjust_tenant", (db) =>
    db
      .update(tenants)
      .set({
        reservedBytes: greatest(0, sql`${tenants.reservedBytes} + ${P("reserved")}`),
        usedBytes: greatest(0, sql`${tenants.usedBytes} + ${P("used")}`),
      })
      .where(eq(tenants.id, P("id")))
      .returning(one),
  );
  const adjustWorkspaceQ = conn.prepared("quota_adjust_workspace", (db) =>
    db
      .update(workspaces)
      .set({
        reservedBytes: greatest(0, sql`${workspaces.reservedBytes} + ${P("reserved")}`),
        usedBytes: greatest(0, sql`${workspaces.usedBytes} + ${P("used")}`),
      })
      .where(eq(workspaces.id, P("id")))
      .returning(one),
  );

  /**
   * Sets used/reserved bytes of `table` rows (optionally one tenant's) to the sums over their live
   * files and returns the rows that drifted. Identifiers are fixed strings from this file.
   */
  async function fixDrift(
    table: "tenants" | "workspaces",
    fileColumn: "tenant_id" | "workspace_id",
    tenantColumn: "id" | "tenant_id",
    tenantId?: string,
  ) {
    const [t, fc, tc] = [sql.raw(table), sql.raw(fileColumn), sql.raw(tenantColumn)];
    const raw = await conn.rows<
      Record<"id" | "tenant_id" | "used_bytes" | "reserved_bytes" | "used" | "reserved", unknown>
    >(sql`
      SELECT o.id, o.${tc} AS tenant_id, o.used_bytes, o.reserved_bytes,
        coalesce((SELECT sum(charged_bytes) FROM files f WHERE f.${fc} = o.id AND f.deleted_at IS NULL), 0) AS used,
        coalesce((SELECT sum(reserved_bytes) FROM files f WHERE f.${fc} = o.id AND f.deleted_at IS NULL), 0) AS reserved
      FROM ${t} o ${tenantId ? sql`WHERE o.${tc} = ${tenantId}` : sql``}`);
    // PostgreSQL returns sums (numeric) and bigints as strings.
    const rows = raw.map((r) => ({
      id: String(r.id),
      tenant_id: String(r.tenant_id),
      used_bytes: Number(r.used_bytes),
      reserved_bytes: Number(r.reserved_bytes),
      used: Number(r.used),
      reserved: Number(r.reserved),
    }));
    const drift = rows.filter((r) => r.used !== r.used_bytes || r.reserved !== r.reserved_bytes);
    const target = table === "tenants" ? tenants : workspaces;
    for (const r of drift)
      await db().update(target).set({ usedBytes: r.used, reservedBytes: r.reserved }).where(eq(target.id, r.id));
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
    /** PostgreSQL: locks the tenant's row for the rest of the transaction (its hot path takes it first). */
    async lockTenant(tenantId: string): Promise<void> {
      if (conn.dialect === "pg") await conn.rows(sql`SELECT 1 FROM tenants WHERE id = ${tenantId} FOR UPDATE`);
    },
    /** True when the bytes were reserved; false when the quota would be exceeded. */
    async reserveTenant(tenantId: string, bytes: number): Promise<boolean> {
      return (await reserveTenantQ({ bytes, id: tenantId })).length === 1;
    },
    async reserveWorkspace(workspaceId: string, bytes: number): Promise<boolean> {
      return (await reserveWorkspaceQ({ bytes, id: workspaceId })).length === 1;
    },
    /**
     * Adds bytes already charged to the tenant to one workspace (files moving in), only if the
     * workspace's quota allows it; false = it doesn't and nothing changed.
     */
    async chargeWorkspace(workspaceId: string, bytes: number): Promise<boolean> {
      return (await chargeWorkspaceQ({ bytes, id: workspaceId })).length === 1;
    },
    /** Takes charged bytes off one workspace (files moving out); the tenant's counters stay. */
    async unchargeWorkspace(workspaceId: string, bytes: number): Promise<void> {
      await adjustWorkspaceQ({ reserved: 0, used: -bytes, id: workspaceId });
    },
    /** Moves counters by deltas (negative to release). Clamped at 0 so a bug can't wedge a tenant. */
    async adjust(
      target: { tenantId: string; workspaceId: string | null },
      reservedDelta: number,
      usedDelta: number,
    ): Promise<void> {
      await adjustTenantQ({ reserved: reservedDelta, used: usedDelta, id: target.tenantId });
      if (target.workspaceId)
        await adjustWorkspaceQ({ reserved: reservedDelta, used: usedDelta, id: target.workspaceId });
    },
    /** Recomputes used/reserved from the files table; returns the rows whose numbers changed. */
    async recalculate(tenantId?: string) {
      const tenantRows = await fixDrift("tenants", "tenant_id", "id", tenantId);
      const workspaceRows = await fixDrift("workspaces", "workspace_id", "tenant_id", tenantId);
      return {
        tenants: tenantRows.map((r) => ({ tenantId: r.id, ...r.change })),
        workspaces: workspaceRows.map((r) => ({ workspaceId: r.id, tenantId: r.tenant_id, ...r.change })),
      };
    },
  };
}
