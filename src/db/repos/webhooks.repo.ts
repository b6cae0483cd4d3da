import { and, asc, desc, eq, sql } from "drizzle-orm";
import type { Connection } from "../connection";
import { dialectSql } from "../dialect-sql";
import type { DeliveryStatus, WebhookDeliveryRow, WebhookEndpointRow } from "../schema";

export type NewDelivery = Pick<
  WebhookDeliveryRow,
  "id" | "tenantId" | "event" | "fileId" | "url" | "payload" | "createdAt"
>;

/**
 * The notification a committed outbox write sends (Connection.notify): on PostgreSQL it wakes the
 * webhook sender of every instance at once (jobs/index.ts listens), instead of at its next poll.
 */
export const WEBHOOKS_WAKEUP = { channel: "storage_brain_jobs", payload: "webhooks" } as const;

/** Webhook endpoints and the delivery outbox. */
export function createWebhooksRepo(conn: Connection) {
  const { webhookEndpoints, webhookDeliveries } = conn.tables;
  const db = () => conn.exec();
  // Read on every settled upload, so prepared once. No ORDER BY: the settle needs the set, and the
  // sort by (created_at, id) cost a temporary B-tree per upload (23-29 µs in the server under 16
  // upload clients, 3.4 µs in a warm loop; without it 0.2 µs).
  const subscribersQ = conn.prepared("webhook_subscribers_of_tenant", (db) =>
    db
      .select({ url: webhookEndpoints.url, events: webhookEndpoints.events })
      .from(webhookEndpoints)
      .where(eq(webhookEndpoints.tenantId, sql.placeholder("tenantId"))),
  );
  const one = { one: sql`1` };
  const { skipLocked } = dialectSql(conn.dialect);
  // Several in one transaction are delivered as one (PostgreSQL folds equal notifications).
  const wakeSenders = async () => conn.notify?.(WEBHOOKS_WAKEUP.channel, WEBHOOKS_WAKEUP.payload);
  /** What a sender may claim at `now`; literal statuses, so each side can use its partial index. */
  const claimable = (now: number) =>
    sql`((${webhookDeliveries.status} = 'pending' AND ${webhookDeliveries.nextAttemptAt} <= ${now}) OR (${webhookDeliveries.status} = 'delivering' AND ${webhookDeliveries.leaseUntil} <= ${now}))`;
  return {
    async insertEndpoint(row: WebhookEndpointRow): Promise<WebhookEndpointRow> {
      const [r] = await db().insert(webhookEndpoints).values(row).returning();
      return r as WebhookEndpointRow;
    },
    /** The tenant's endpoints, oldest first (as listed to the tenant). */
    async endpoints(tenantId: string): Promise<WebhookEndpointRow[]> {
      return db()
        .select()
        .from(webhookEndpoints)
        .where(eq(webhookEndpoints.tenantId, tenantId))
        .orderBy(asc(webhookEndpoints.createdAt), asc(webhookEndpoints.id));
    },
    /** The URL and events of each of the tenant's endpoints, in no particular order (the settle's read). */
    async subscribers(tenantId: string): Promise<Pick<WebhookEndpointRow, "url" | "events">[]> {
      return subscribersQ({ tenantId });
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
      await wakeSenders();
    },
    /**
     * Claims up to `limit` deliveries for one attempt each and returns them: due `pending` ones,
     * and `delivering` ones whose lease has ended (their sender died mid-attempt). A claimed row
     * is `delivering` with `leaseUntil`, which only its claimer may record an outcome under
     * (recordAttempt). One statement: the selecting subquery skips rows another instance has
     * locked on PostgreSQL, so concurrent senders never take the same delivery.
     */
    async claimDue(now: number, limit: number, leaseUntil: number): Promise<WebhookDeliveryRow[]> {
      const d = webhookDeliveries;
      const claimed = await db()
        .update(d)
        .set({ status: "delivering", leaseUntil, updatedAt: now })
        .where(
          sql`${d.id} IN (SELECT ${d.id} FROM ${d} WHERE ${claimable(now)} ORDER BY ${d.nextAttemptAt}, ${d.id} LIMIT ${limit}${skipLocked})`,
        )
        .returning();
      // Oldest due first (RETURNING follows no ORDER BY on PostgreSQL): events go out in order;
      // ids are time-ordered (UUIDv7), which breaks ties of the same millisecond.
      return claimed.sort(
        (x, y) =>
          x.nextAttemptAt - y.nextAttemptAt || x.createdAt - y.createdAt || (x.id < y.id ? -1 : x.id > y.id ? 1 : 0),
      );
    },
    /**
     * Records an attempt's outcome, if the claim it was made under (`leaseUntil`) is still the
     * row's: after the lease another sender may have retaken the delivery, and its outcome wins.
     * False when the result was stale and dropped.
     */
    async recordAttempt(
      id: string,
      leaseUntil: number,
      patch: {
        status: Exclude<DeliveryStatus, "delivering">;
        attempts: number;
        nextAttemptAt?: number;
        lastError: string | null;
        lastStatus: number | null;
        deliveredAt?: number;
      },
      now: number,
    ): Promise<boolean> {
      const rows = await db()
        .update(webhookDeliveries)
        .set({ ...patch, leaseUntil: null, updatedAt: now })
        .where(
          and(
            eq(webhookDeliveries.id, id),
            eq(webhookDeliveries.status, "delivering"),
            eq(webhookDeliveries.leaseUntil, leaseUntil),
          ),
        )
        .returning(one);
      return rows.length === 1;
    },
    /**
     * Deliveries due now that no live sender holds (pending and due, or with an ended lease), and
     * the earliest due time among them.
     */
    async dueBacklog(now: number): Promise<{ count: number; oldestDueAt: number | null }> {
      const [r] = await db()
        .select({
          n: sql<number>`count(*)`.mapWith(Number),
          oldest: sql<number | null>`min(${webhookDeliveries.nextAttemptAt})`.mapWith(Number),
        })
        .from(webhookDeliveries)
        .where(claimable(now));
      return { count: r?.n ?? 0, oldestDueAt: r?.oldest ?? null };
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
      if (rows.length === 1) await wakeSenders();
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
