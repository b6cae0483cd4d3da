import { and, desc, eq, gte, lt, type SQL, sql } from "drizzle-orm";
import type { Connection } from "../connection";
import type { AuditRow } from "../schema";

export interface AuditFilter {
  action?: string;
  actorType?: string;
  actorId?: string;
  tenantId?: string;
  /** Epoch ms, inclusive. */
  since?: number;
  /** Epoch ms, exclusive. */
  until?: number;
}

/** The audit trail: append-only rows, read newest first with keyset paging. */
export function createAuditRepo(conn: Connection) {
  const { auditLog } = conn.tables;
  const db = () => conn.exec();
  return {
    async insert(row: AuditRow): Promise<void> {
      await db().insert(auditLog).values(row);
    },
    async page(filter: AuditFilter, limit: number, after?: { createdAt: number; id: string }): Promise<AuditRow[]> {
      const conds: (SQL | undefined)[] = [
        filter.action ? eq(auditLog.action, filter.action) : undefined,
        filter.actorType ? eq(auditLog.actorType, filter.actorType as AuditRow["actorType"]) : undefined,
        filter.actorId ? eq(auditLog.actorId, filter.actorId) : undefined,
        filter.tenantId ? eq(auditLog.tenantId, filter.tenantId) : undefined,
        filter.since !== undefined ? gte(auditLog.createdAt, filter.since) : undefined,
        filter.until !== undefined ? lt(auditLog.createdAt, filter.until) : undefined,
        after ? sql`(${auditLog.createdAt}, ${auditLog.id}) < (${after.createdAt}, ${after.id})` : undefined,
      ];
      return db()
        .select()
        .from(auditLog)
        .where(and(...conds))
        .orderBy(desc(auditLog.createdAt), desc(auditLog.id))
        .limit(limit);
    },
  };
}
export type AuditRepo = ReturnType<typeof createAuditRepo>;
