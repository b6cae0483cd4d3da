import { and, asc, eq, isNull, sql } from "drizzle-orm";
import type { Connection } from "../connection";
import type { PlanRow, UserKeyRow } from "../schema";

/** User-scoped API keys and organization plans. */
export function createAccessRepo(conn: Connection) {
  const { userKeys, plans, tenants } = conn.tables;
  const db = () => conn.exec();
  return {
    async insertUserKey(row: Omit<UserKeyRow, "revokedAt">): Promise<UserKeyRow> {
      const [r] = await db().insert(userKeys).values(row).returning();
      return r as UserKeyRow;
    },
    /** A live (unrevoked) user key by the hash of its secret. */
    async userKeyByHash(hash: string): Promise<UserKeyRow | undefined> {
      const [r] = await db()
        .select()
        .from(userKeys)
        .where(and(eq(userKeys.keyHash, hash), isNull(userKeys.revokedAt)))
        .limit(1);
      return r;
    },
    async userKeys(tenantId: string): Promise<UserKeyRow[]> {
      return db()
        .select()
        .from(userKeys)
        .where(and(eq(userKeys.tenantId, tenantId), isNull(userKeys.revokedAt)))
        .orderBy(asc(userKeys.createdAt), asc(userKeys.id));
    },
    async revokeUserKey(tenantId: string, id: string, now: number): Promise<boolean> {
      const rows = await db()
        .update(userKeys)
        .set({ revokedAt: now })
        .where(and(eq(userKeys.tenantId, tenantId), eq(userKeys.id, id), isNull(userKeys.revokedAt)))
        .returning({ one: sql`1` });
      return rows.length === 1;
    },

    async insertPlan(row: PlanRow): Promise<PlanRow> {
      const [r] = await db().insert(plans).values(row).returning();
      return r as PlanRow;
    },
    async plans(): Promise<PlanRow[]> {
      return db().select().from(plans).orderBy(asc(plans.quotaBytes), asc(plans.name));
    },
    async planById(id: string): Promise<PlanRow | undefined> {
      const [r] = await db().select().from(plans).where(eq(plans.id, id)).limit(1);
      return r;
    },
    async planByName(name: string): Promise<PlanRow | undefined> {
      const [r] = await db().select().from(plans).where(eq(plans.name, name)).limit(1);
      return r;
    },
    /** Updates a plan and re-applies its quota to every tenant on it (call inside a transaction). */
    async updatePlan(
      id: string,
      patch: Partial<Pick<PlanRow, "name" | "quotaBytes" | "maxFileSizeBytes">>,
      now: number,
    ): Promise<PlanRow | undefined> {
      const [row] = await db()
        .update(plans)
        .set({ ...patch, updatedAt: now })
        .where(eq(plans.id, id))
        .returning();
      if (row && patch.quotaBytes !== undefined)
        await db().update(tenants).set({ quotaBytes: row.quotaBytes, updatedAt: now }).where(eq(tenants.planId, id));
      return row;
    },
    /** Puts a tenant on a plan (its quota becomes the plan's) or takes it off one (quota kept). */
    async assignPlan(tenantId: string, plan: PlanRow | null, now: number): Promise<void> {
      await db()
        .update(tenants)
        .set(plan ? { planId: plan.id, quotaBytes: plan.quotaBytes, updatedAt: now } : { planId: null, updatedAt: now })
        .where(eq(tenants.id, tenantId));
    },
  };
}
