import { and, asc, desc, eq, inArray, lte, sql } from "drizzle-orm";
import type { Db } from "../client";
import {
  type DeliveryStatus,
  type WebhookDeliveryRow,
  type WebhookEndpointRow,
  webhookDeliveries,
  webhookEndpoints,
} from "../schema";

export type NewDelivery = Pick<
  WebhookDeliveryRow,
  "id" | "tenantId" | "event" | "fileId" | "url" | "payload" | "createdAt"
>;

/** Webhook endpoints and the delivery outbox. */
export function createWebhooksRepo(db: Db) {
  // Read on every settled upload (to find subscribers), so prepared once.
  const endpointsQ = db
    .select()
    .from(webhookEndpoints)
    .where(eq(webhookEndpoints.tenantId, sql.placeholder("tenantId")))
    .orderBy(asc(webhookEndpoints.createdAt), asc(webhookEndpoints.id))
    .prepare();
  return {
    insertEndpoint(row: WebhookEndpointRow): WebhookEndpointRow {
      return db.insert(webhookEndpoints).values(row).returning().get();
    },
    endpoints(tenantId: string): WebhookEndpointRow[] {
      return endpointsQ.all({ tenantId });
    },
    deleteEndpoint(tenantId: string, id: string): boolean {
      return (
        db
          .delete(webhookEndpoints)
          .where(and(eq(webhookEndpoints.tenantId, tenantId), eq(webhookEndpoints.id, id)))
          .returning({ one: sql`1` })
          .all().length === 1
      );
    },
    insertDelivery(row: NewDelivery): void {
      db.insert(webhookDeliveries)
        .values({ ...row, status: "pending", attempts: 0, nextAttemptAt: row.createdAt, updatedAt: row.createdAt })
        .run();
    },
    /** Atomically moves up to `limit` due deliveries to `delivering` and returns them (no double send within a process). */
    claimDue(now: number, limit: number): WebhookDeliveryRow[] {
      const due = db
        .select({ id: webhookDeliveries.id })
        .from(webhookDeliveries)
        .where(and(eq(webhookDeliveries.status, "pending"), lte(webhookDeliveries.nextAttemptAt, now)))
        .orderBy(asc(webhookDeliveries.nextAttemptAt))
        .limit(limit)
        .all()
        .map((r) => r.id);
      if (due.length === 0) return [];
      return db
        .update(webhookDeliveries)
        .set({ status: "delivering", updatedAt: now })
        .where(and(inArray(webhookDeliveries.id, due), eq(webhookDeliveries.status, "pending")))
        .returning()
        .all();
    },
    /** Records an attempt's outcome. */
    recordAttempt(
      id: string,
      patch: {
        status: DeliveryStatus;
        attempts: number;
        nextAttemptAt?: number;
        lastError: string | null;
        lastStatus: number | null;
        deliveredAt?: number;
      },
      now: number,
    ): void {
      db.update(webhookDeliveries)
        .set({ ...patch, updatedAt: now })
        .where(eq(webhookDeliveries.id, id))
        .run();
    },
    /** After a crash, deliveries that were mid-attempt go back to pending (at-least-once). */
    /** Pending deliveries due now that no sender has claimed yet, and the earliest due time among them. */
    dueBacklog(now: number): { count: number; oldestDueAt: number | null } {
      const r = db
        .select({ n: sql<number>`count(*)`, oldest: sql<number | null>`min(${webhookDeliveries.nextAttemptAt})` })
        .from(webhookDeliveries)
        .where(and(eq(webhookDeliveries.status, "pending"), lte(webhookDeliveries.nextAttemptAt, now)))
        .get()!;
      return { count: r.n, oldestDueAt: r.oldest };
    },
    resetDelivering(now: number): number {
      return db
        .update(webhookDeliveries)
        .set({ status: "pending", updatedAt: now })
        .where(eq(webhookDeliveries.status, "delivering"))
        .returning({ one: sql`1` })
        .all().length;
    },
    byId(tenantId: string, id: string): WebhookDeliveryRow | undefined {
      return db
        .select()
        .from(webhookDeliveries)
        .where(and(eq(webhookDeliveries.tenantId, tenantId), eq(webhookDeliveries.id, id)))
        .get();
    },
    requeue(id: string, now: number): boolean {
      return (
        db
          .update(webhookDeliveries)
          .set({ status: "pending", attempts: 0, nextAttemptAt: now, updatedAt: now })
          .where(and(eq(webhookDeliveries.id, id), eq(webhookDeliveries.status, "dead")))
          .returning({ one: sql`1` })
          .all().length === 1
      );
    },
    page(
      tenantId: string,
      limit: number,
      opts: { status?: DeliveryStatus; after?: { createdAt: number; id: string } },
    ): WebhookDeliveryRow[] {
      const c = [eq(webhookDeliveries.tenantId, tenantId)];
      if (opts.status) c.push(eq(webhookDeliveries.status, opts.status));
      if (opts.after)
        c.push(
          sql`(${webhookDeliveries.createdAt}, ${webhookDeliveries.id}) < (${opts.after.createdAt}, ${opts.after.id})`,
        );
      return db
        .select()
        .from(webhookDeliveries)
        .where(and(...c))
        .orderBy(desc(webhookDeliveries.createdAt), desc(webhookDeliveries.id))
        .limit(limit)
        .all();
    },
    /** Earliest pending attempt time, so the sender can sleep until then. */
    nextDueAt(): number | null {
      return (
        db
          .select({ t: sql<number | null>`min(${webhookDeliveries.nextAttemptAt})` })
          .from(webhookDeliveries)
          .where(eq(webhookDeliveries.status, "pending"))
          .get()?.t ?? null
      );
    },
  };
}
