import { and, asc, eq, isNull, sql } from "drizzle-orm";
import type { Db } from "../client";
import { type PlanRow, plans, tenants, type UserKeyRow, userKeys } from "../schema";

/** User-scoped API keys and organization plans. */
export function createAccessRepo(db: Db) {
  return {
    insertUserKey(row: Omit<UserKeyRow, "revokedAt">): UserKeyRow {
      return db.insert(userKeys).values(row).returning().get();
    },
    /** A live (unrevoked) user key by the hash of its secret. */
    userKeyByHash(hash: string): UserKeyRow | undefined {
      return db
        .select()
        .from(userKeys)
        .where(and(eq(userKeys.keyHash, hash), isNull(userKeys.revokedAt)))
        .get();
    },
    userKeys(tenantId: string): UserKeyRow[] {
      return db
        .select()
        .from(userKeys)
        .where(and(eq(userKeys.tenantId, tenantId), isNull(userKeys.revokedAt)))
        .orderBy(asc(userKeys.createdAt), asc(userKeys.id))
        .all();
    },
    revokeUserKey(tenantId: string, id: string, now: number): boolean {
      return (
        db
          .update(userKeys)
          .set({ revokedAt: now })
          .where(and(eq(userKeys.tenantId, tenantId), eq(userKeys.id, id), isNull(userKeys.revokedAt)))
          .returning({ one: sql`1` })
          .all().length === 1
      );
    },

    insertPlan(row: PlanRow): PlanRow {
      return db.insert(plans).values(row).returning().get();
    },
    plans(): PlanRow[] {
      return db.select().from(plans).orderBy(asc(plans.quotaBytes), asc(plans.name)).all();
    },
    planById(id: string): PlanRow | undefined {
      return db.select().from(plans).where(eq(plans.id, id)).get();
    },
    planByName(name: string): PlanRow | undefined {
      return db.select().from(plans).where(eq(plans.name, name)).get();
    },
    /** Updates a plan and re-applies its quota to every tenant on it (call inside a transaction). */
    updatePlan(
      id: string,
      patch: Partial<Pick<PlanRow, "name" | "quotaBytes" | "maxFileSizeBytes">>,
      now: number,
    ): PlanRow | undefined {
      const row = db
        .update(plans)
        .set({ ...patch, updatedAt: now })
        .where(eq(plans.id, id))
        .returning()
        .get();
      if (row && patch.quotaBytes !== undefined)
        db.update(tenants).set({ quotaBytes: row.quotaBytes, updatedAt: now }).where(eq(tenants.planId, id)).run();
      return row;
    },
    /** Puts a tenant on a plan (its quota becomes the plan's) or takes it off one (quota kept). */
    assignPlan(tenantId: string, plan: PlanRow | null, now: number): void {
      db.update(tenants)
        .set(plan ? { planId: plan.id, quotaBytes: plan.quotaBytes, updatedAt: now } : { planId: null, updatedAt: now })
        .where(eq(tenants.id, tenantId))
        .run();
    },
  };
}
