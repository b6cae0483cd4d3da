import { randomUUID } from "node:crypto";
import type { Repos } from "../../db/repos";
import type { DeliveryStatus, FileRow, WebhookDeliveryRow, WebhookEndpointRow } from "../../db/schema";
import { fileView } from "../files/file-view";
import type { Clock } from "../shared/clock";
import { keysetPage } from "../shared/cursor";
import { AppError, present, validation } from "../shared/errors";
import { isLiteralPrivateHost } from "./ssrf-guard";

/**
 * Delivery ids are UUIDv7: time-ordered and monotonic within the process, so deliveries due at
 * the same moment are sent in the order they were written (claimDue orders by due time, then id).
 */
const deliveryId = () => Bun.randomUUIDv7();

export const WEBHOOK_EVENTS = ["file.uploaded", "file.failed"] as const;
export type WebhookEvent = (typeof WEBHOOK_EVENTS)[number];

export interface WebhooksServiceDeps {
  repos: Repos;
  clock: Clock;
  allowPrivateNetworks: boolean;
  /** Wakes the sender after an event is committed (so delivery needn't wait for the next tick). */
  wake?: () => void;
}

const endpointView = (e: WebhookEndpointRow) => ({
  id: e.id,
  url: e.url,
  events: e.events,
  description: e.description,
  createdAt: new Date(e.createdAt).toISOString(),
});

const deliveryView = (d: WebhookDeliveryRow) => ({
  id: d.id,
  event: d.event,
  fileId: d.fileId,
  url: d.url,
  status: d.status,
  attempts: d.attempts,
  lastError: d.lastError,
  lastStatusCode: d.lastStatus,
  nextAttemptAt: d.status === "pending" ? new Date(d.nextAttemptAt).toISOString() : null,
  createdAt: new Date(d.createdAt).toISOString(),
  deliveredAt: d.deliveredAt ? new Date(d.deliveredAt).toISOString() : null,
});

/**
 * Webhook endpoints and the outbox. `enqueueFileEvent` runs inside the transaction that settles
 * a file, so an event exists if and only if the state change committed.
 */
export function createWebhooksService(deps: WebhooksServiceDeps) {
  const { repos, clock } = deps;

  /** http(s) only; literal private IPs / localhost refused up front unless allowed. */
  function assertTargetUrl(raw: string, field: string) {
    let url: URL;
    try {
      url = new URL(raw);
    } catch {
      throw validation(`${field} is not a valid URL`, { field });
    }
    if (url.protocol !== "http:" && url.protocol !== "https:")
      throw validation(`${field} must be http or https`, { field });
    if (url.username || url.password) throw validation(`${field} must not contain credentials`, { field });
    if (!deps.allowPrivateNetworks && isLiteralPrivateHost(url))
      throw validation(`${field} points to a private or loopback address`, { field });
  }

  /**
   * Reads who the event of `file` settling as `status` goes to (its own webhookUrl, the tenant's
   * endpoints subscribed to it) and returns the function that writes it to the outbox for the
   * settled row, inside the settling transaction; null when nobody is to be told. Reading first
   * lets a settle take its tenant's hot rows only after this read (upload-pipeline.ts).
   */
  async function prepareFileEvent(
    file: Pick<FileRow, "tenantId" | "webhookUrl">,
    status: "completed" | "failed",
  ): Promise<((settled: FileRow) => Promise<void>) | null> {
    const event: WebhookEvent = status === "completed" ? "file.uploaded" : "file.failed";
    const urls = new Set<string>();
    if (file.webhookUrl) urls.add(file.webhookUrl);
    for (const e of await repos.webhooks.subscribers(file.tenantId)) if (e.events.includes(event)) urls.add(e.url);
    if (urls.size === 0) return null;
    return async (settled: FileRow) => {
      const now = clock.now();
      const payload = JSON.stringify({
        event,
        fileId: settled.id,
        tenantId: settled.tenantId,
        workspaceId: settled.workspaceId,
        file: fileView(settled),
        timestamp: new Date(now).toISOString(),
      });
      for (const url of urls)
        await repos.webhooks.insertDelivery({
          id: deliveryId(),
          tenantId: settled.tenantId,
          event,
          fileId: settled.id,
          url,
          payload,
          createdAt: now,
        });
      // The sender must see the rows: wake it once they are committed.
      const wake = deps.wake;
      if (wake) repos.afterCommit(wake);
    };
  }

  return {
    assertTargetUrl,
    prepareFileEvent,

    /** Writes the settled file's event to the outbox; call inside the settling transaction. */
    async enqueueFileEvent(file: FileRow): Promise<void> {
      const status = file.processingStatus === "completed" ? "completed" : "failed";
      await (await prepareFileEvent(file, status))?.(file);
    },

    async createEndpoint(tenantId: string, input: { url: string; events?: string[]; description?: string }) {
      assertTargetUrl(input.url, "url");
      const events = input.events ?? [...WEBHOOK_EVENTS];
      const unknown = events.filter((e) => !(WEBHOOK_EVENTS as readonly string[]).includes(e));
      if (unknown.length || events.length === 0)
        throw validation(`events must be a non-empty subset of ${WEBHOOK_EVENTS.join(", ")}`, {
          field: "events",
          unknown,
        });
      if ((await repos.webhooks.endpoints(tenantId)).length >= 20)
        throw new AppError("CONFLICT", "A tenant may register at most 20 webhook endpoints");
      return endpointView(
        await repos.webhooks.insertEndpoint({
          id: randomUUID(),
          tenantId,
          url: input.url,
          events: [...new Set(events)],
          description: input.description ?? null,
          createdAt: clock.now(),
        }),
      );
    },
    listEndpoints: async (tenantId: string) => ({
      webhooks: (await repos.webhooks.endpoints(tenantId)).map(endpointView),
    }),
    async deleteEndpoint(tenantId: string, id: string) {
      if (!(await repos.webhooks.deleteEndpoint(tenantId, id)))
        throw new AppError("NOT_FOUND", "Webhook endpoint not found", { id });
    },

    async listDeliveries(tenantId: string, q: { limit?: number; cursor?: string; status?: DeliveryStatus }) {
      const limit = q.limit ?? 20;
      const { items, nextCursor } = await keysetPage(limit, q.cursor, (n, after) =>
        repos.webhooks.page(tenantId, n, { status: q.status, after }),
      );
      return { deliveries: items.map(deliveryView), nextCursor };
    },
    /**
     * Queues a `webhook.test` event to every endpoint of the tenant (whatever events they
     * subscribe to), signed and retried like real events, so an operator can check a receiver.
     */
    async sendTestEvent(tenantId: string) {
      const endpoints = await repos.webhooks.endpoints(tenantId);
      if (endpoints.length === 0) throw new AppError("CONFLICT", "The tenant has no webhook endpoints; add one first");
      const now = clock.now();
      const payload = JSON.stringify({ event: "webhook.test", tenantId, timestamp: new Date(now).toISOString() });
      const ids: string[] = [];
      for (const e of endpoints) {
        const id = deliveryId();
        await repos.webhooks.insertDelivery({
          id,
          tenantId,
          event: "webhook.test",
          fileId: null,
          url: e.url,
          payload,
          createdAt: now,
        });
        ids.push(id);
      }
      deps.wake?.();
      const deliveries = [];
      for (const id of ids) deliveries.push(deliveryView((await repos.webhooks.byId(tenantId, id))!));
      return { deliveries };
    },
    /** Re-queues a dead delivery with a fresh attempt budget. */
    async retryDelivery(tenantId: string, id: string) {
      const d = await repos.webhooks.byId(tenantId, id);
      if (!d) throw new AppError("NOT_FOUND", "Delivery not found", { id });
      if (!(await repos.webhooks.requeue(id, clock.now())))
        throw new AppError("CONFLICT", `Only dead deliveries can be retried (this one is ${d.status})`, {
          status: d.status,
        });
      deps.wake?.();
      return deliveryView(present(await repos.webhooks.byId(tenantId, id), "delivery"));
    },
  };
}
export type WebhooksService = ReturnType<typeof createWebhooksService>;
