import { and, asc, desc, eq, inArray, lte, sql } from "drizzle-orm";
import type { Connection } from "../connection";
import type { DeliveryStatus, WebhookDeliveryRow, WebhookEndpointRow } from "../schema";

export type NewDelivery = Pick<
  WebhookDeliveryRow,
  "id" | "tenantId" | "event" | "fileId" | "url" | "payload" | "createdAt"
>;

/** Webhook endpoints and the delivery outbox. */
export function createWebhooksRepo(conn: Connection) {
  const { webhookEndpoints, webhookDeliveries } = conn.tables;
  const db = () => conn.exec();
  // Read on every settled upload (to find subscribers), so prepared once.
  const endpointsQ = conn.prepared("webhook_endpoints_of_tenant", (db) =>
    db
      .select()
      .from(webhookEndpoints)
      .where(eq(webhookEndpoints.tenantId, sql.placeholder("tenantId")))
      .orderBy(asc(webhookEndpoints.createdAt), asc(webhookEndpoints.id)),
  );
  const one = { one: sql`1` };
  return {
    async insertEndpoint(row: WebhookEndpointRow): Promise<WebhookEndpointRow> {
      const [r] = await db().insert(webhookEndpoints).values(row).returning();
      return r as WebhookEndpointRow;
    },
    async endpoints(tenantId: string): Promise<WebhookEndpointRow[]> {
      return endpointsQ({ tenantId });
    },
    async deleteEndpoint(tenantId: string, id: string): Promise<boolean> {
      const rows = await db()
        .delete(webhookEndpoints)
        .where(and(eq(webhookEndpoints.tenantId, tenantId), eq(webhookEndpoints.id, id)))
        .returning(one);
      return rows.length === 1;
    },
    async insertDelivery(row: NewDelivery): Promise<void> {
      await db()
        .insert(webhookDeliveries)
        .values({ ...row, status: "pending", attempts: 0, nextAttemptAt: row.createdAt, updatedAt: row.createdAt });
    },
    /** Atomically moves up to `limit` due deliveries to `delivering` and returns them (no double send within a process). */
    async claimDue(now: number, limit: number): Promise<WebhookDeliveryRow[]> {
      const due = (
        await db()
          .select({ id: webhookDeliveries.id })
          .from(webhookDeliveries)
          .where(and(eq(webhookDeliveries.status, "pending"), lte(webhookDeliveries.nextAttemptAt, now)))
          .orderBy(asc(webhookDeliveries.nextAttemptAt))
          .limit(limit)
      ).map((r) => r.id);
      if (due.length === 0) return [];
      return db()
        .update(webhookDeliveries)
        .set({ status: "delivering", updatedAt: now })
        .where(and(inArray(webhookDeliveries.id, due), eq(webhookDeliveries.status, "pending")))
        .returning();
    },
    /** Records an attempt's outcome. */
    async recordAttempt(
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
    ): Promise<void> {
      await db()
        .update(webhookDeliveries)
        .set({ ...patch, updatedAt: now })
        .where(eq(webhookDeliveries.id, id));
    },
    /** Pending deliveries due now that no sender has claimed yet, and the earliest due time among them. */
    async dueBacklog(now: number): Promise<{ count: number; oldestDueAt: number | null }> {
      const [r] = await db()
        .select({
          n: sql<number>`count(*)`.mapWith(Number),
          oldest: sql<number | null>`min(${webhookDeliveries.nextAttemptAt})`.mapWith(Number),
        })
        .from(webhookDeliveries)
        .where(and(eq(webhookDeliveries.status, "pending"), lte(webhookDeliveries.nextAttemptAt, now)));
      return { count: r?.n ?? 0, oldestDueAt: r?.oldest ?? null };
    },
    /** After a crash, deliveries that were mid-attempt go back to pending (at-least-once). */
    async resetDelivering(now: number): Promise<number> {
      const rows = await db()
        .update(webhookDeliveries)
        .set({ status: "pending", updatedAt: now })
        .where(eq(webhookDeliveries.status, "delivering"))
        .returning(one);
      return rows.length;
    },
    async byId(tenantId: string, id: string): Promise<WebhookDeliveryRow | undefined> {
      const [r] = await db()
        .select()
        .from(webhookDeliveries)
        .where(and(eq(webhookDeliveries.tenantId, tenantId), eq(webhookDeliveries.id, id)))
        .limit(1);
      return r;
    },
    async requeue(id: string, now: number): Promise<boolean> {
      const rows = await db()
        .update(webhookDeliveries)
        .set({ status: "pending", attempts: 0, nextAttemptAt: now, updatedAt: now })
        .where(and(eq(webhookDeliveries.id, id), eq(webhookDeliveries.status, "dead")))
        .returning(one);
      return rows.length === 1;
    },
    async page(
      tenantId: string,
      limit: number,
      opts: { status?: DeliveryStatus; after?: { createdAt: number; id: string } },
    ): Promise<WebhookDeliveryRow[]> {
      const c = [eq(webhookDeliveries.tenantId, tenantId)];
      if (opts.status) c.push(eq(webhookDeliveries.status, opts.status));
      if (opts.after)
        c.push(
          sql`(${webhookDeliveries.createdAt}, ${webhookDeliveries.id}) < (${opts.after.createdAt}, ${opts.after.id})`,
        );
      return db()
        .select()
        .from(webhookDeliveries)
        .where(and(...c))
        .orderBy(desc(webhookDeliveries.createdAt), desc(webhookDeliveries.id))
        .limit(limit);
    },
    /** Earliest pending attempt time, so the sender can sleep until then. */
    async nextDueAt(): Promise<number | null> {
      const [r] = await db()
        .select({ t: sql<number | null>`min(${webhookDeliveries.nextAttemptAt})`.mapWith(Number) })
        .from(webhookDeliveries)
        .where(eq(webhookDeliveries.status, "pending"));
      return r?.t ?? null;
    },
  };
}
