import { and, desc, eq, lt, or, sql } from "drizzle-orm";
import type { Db } from "../client";
import { tenants, files, type TenantRow } from "../schema";

export type NewTenant = Pick<TenantRow, "id" | "name" | "apiKeyHash" | "keyPrefix" | "quotaBytes" | "allowedFileTypes" | "webhookSecret" | "createdAt">;
export type TenantPatch = Partial<Pick<TenantRow, "name" | "quotaBytes" | "allowedFileTypes">>;

/** Tenants and their quota counters. The only place tenant SQL lives. */
export function createTenantsRepo(db: Db) {
  return {
    insert(t: NewTenant): TenantRow {
      return db.insert(tenants).values({ ...t, usedBytes: 0, reservedBytes: 0, updatedAt: t.createdAt }).returning().get();
    },
    byId(id: string): TenantRow | undefined {
      return db.select().from(tenants).where(eq(tenants.id, id)).get();
    },
    byName(name: string): TenantRow | undefined {
      return db.select().from(tenants).where(eq(tenants.name, name)).get();
    },
    byKeyHash(hash: string): TenantRow | undefined {
      return db.select().from(tenants).where(eq(tenants.apiKeyHash, hash)).get();
    },
    update(id: string, patch: TenantPatch & { apiKeyHash?: string; keyPrefix?: string; webhookSecret?: string }, now: number): TenantRow | undefined {
      return db.update(tenants).set({ ...patch, updatedAt: now }).where(eq(tenants.id, id)).returning().get();
    },
    delete(id: string): boolean {
      return db.delete(tenants).where(eq(tenants.id, id)).returning({ one: sql`1` }).all().length > 0;
    },
    /** Newest first, keyset on (created_at, id). */
    page(limit: number, after?: { createdAt: number; id: string }): TenantRow[] {
      const cond = after
        ? or(lt(tenants.createdAt, after.createdAt), and(eq(tenants.createdAt, after.createdAt), lt(tenants.id, after.id)))
        : undefined;
      return db.select().from(tenants).where(cond).orderBy(desc(tenants.createdAt), desc(tenants.id)).limit(limit).all();
    },
    count(): number {
      return db.select({ n: sql<number>`count(*)` }).from(tenants).get()?.n ?? 0;
    },
    liveFileCount(tenantId: string): number {
      return db.select({ n: sql<number>`count(*)` }).from(files).where(and(eq(files.tenantId, tenantId), sql`${files.deletedAt} IS NULL`)).get()?.n ?? 0;
    },
  };
}
export type TenantsRepo = ReturnType<typeof createTenantsRepo>;
