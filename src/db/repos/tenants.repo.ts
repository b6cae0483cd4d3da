import { and, desc, eq, gt, sql } from "drizzle-orm";
import type { Db } from "../client";
import { type TenantRow, tenants } from "../schema";

export type NewTenant = Pick<
  TenantRow,
  "id" | "name" | "apiKeyHash" | "keyPrefix" | "quotaBytes" | "allowedFileTypes" | "webhookSecret" | "createdAt"
>;
export type TenantPatch = Partial<Pick<TenantRow, "name" | "quotaBytes" | "allowedFileTypes">>;

/** Tenants and their quota counters. The only place tenant SQL lives. */
export function createTenantsRepo(db: Db) {
  // Every authenticated request runs this lookup: prepared once (40 µs → 3 µs per call).
  const byKeyHashQ = db
    .select()
    .from(tenants)
    .where(eq(tenants.apiKeyHash, sql.placeholder("hash")))
    .prepare();
  const byIdQ = db
    .select()
    .from(tenants)
    .where(eq(tenants.id, sql.placeholder("id")))
    .prepare();
  return {
    insert(t: NewTenant): TenantRow {
      return db
        .insert(tenants)
        .values({ ...t, usedBytes: 0, reservedBytes: 0, updatedAt: t.createdAt })
        .returning()
        .get();
    },
    byId(id: string): TenantRow | undefined {
      return byIdQ.get({ id });
    },
    byName(name: string): TenantRow | undefined {
      return db.select().from(tenants).where(eq(tenants.name, name)).get();
    },
    byKeyHash(hash: string): TenantRow | undefined {
      return byKeyHashQ.get({ hash });
    },
    /** A tenant whose replaced key (regenerate-key with graceSeconds) has this hash and is still in grace. */
    byPreviousKeyHash(hash: string, now: number): TenantRow | undefined {
      return db
        .select()
        .from(tenants)
        .where(and(eq(tenants.previousKeyHash, hash), gt(tenants.previousKeyExpiresAt, now)))
        .get();
    },
    update(
      id: string,
      patch: TenantPatch & {
        apiKeyHash?: string;
        keyPrefix?: string;
        webhookSecret?: string;
        previousKeyHash?: string | null;
        previousKeyExpiresAt?: number | null;
      },
      now: number,
    ): TenantRow | undefined {
      return db
        .update(tenants)
        .set({ ...patch, updatedAt: now })
        .where(eq(tenants.id, id))
        .returning()
        .get();
    },
    /** Tenants whose stored webhook secret does not start with `prefix` (not sealed under the current key). */
    webhookSecretsNotSealedWith(prefix: string): { id: string; webhookSecret: string }[] {
      return db
        .select({ id: tenants.id, webhookSecret: tenants.webhookSecret })
        .from(tenants)
        .where(sql`substr(${tenants.webhookSecret}, 1, ${prefix.length}) <> ${prefix}`)
        .all();
    },
    /** Compare-and-set of the stored webhook secret (a concurrent rotate wins). */
    replaceWebhookSecret(id: string, from: string, to: string, now: number): boolean {
      return (
        db
          .update(tenants)
          .set({ webhookSecret: to, updatedAt: now })
          .where(and(eq(tenants.id, id), eq(tenants.webhookSecret, from)))
          .returning({ one: sql`1` })
          .all().length > 0
      );
    },
    delete(id: string): boolean {
      return db.delete(tenants).where(eq(tenants.id, id)).returning({ one: sql`1` }).all().length > 0;
    },
    /** Newest first, keyset on (created_at, id). */
    page(limit: number, after?: { createdAt: number; id: string }): TenantRow[] {
      const cond = after ? sql`(${tenants.createdAt}, ${tenants.id}) < (${after.createdAt}, ${after.id})` : undefined;
      return db
        .select()
        .from(tenants)
        .where(cond)
        .orderBy(desc(tenants.createdAt), desc(tenants.id))
        .limit(limit)
        .all();
    },
    count(): number {
      return db.select({ n: sql<number>`count(*)` }).from(tenants).get()?.n ?? 0;
    },
  };
}
export type TenantsRepo = ReturnType<typeof createTenantsRepo>;
