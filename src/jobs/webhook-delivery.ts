import type { Repos } from "../db/repos";
import type { TenantRow, WebhookDeliveryRow } from "../db/schema";
import type { Clock } from "../domain/shared/clock";
import { hmacHex } from "../domain/shared/secrets";
import { BlockedAddressError, type Resolver, resolveTarget } from "../domain/webhooks/ssrf-guard";
import type { Logger } from "../logger";
import { logBacklog, webhookBacklog } from "./backlog";
import { postPinned } from "./webhook-post";

export interface WebhookSenderDeps {
  repos: Repos;
  clock: Clock;
  logger: Logger;
  maxAttempts: number;
  backoffMs: number;
  timeoutMs: number;
  allowPrivateNetworks: boolean;
  /** DNS for webhook hosts (default: the system resolver); asked once per attempt. */
  resolve?: Resolver;
  /** The tenant's signing secret in clear (it is stored sealed): TenantsService.webhookSecretOf. */
  webhookSecretOf: (tenant: TenantRow) => Promise<string>;
  /** Parallel requests at most: a slow receiver can't take more sockets than this. */
  concurrency?: number;
  /** Each attempt's outcome once recorded (metrics). */
  onAttempt?: (outcome: "delivered" | "retry" | "dead") => void;
}

const REPOLL_MS = 250;

/**
 * How long a claimed delivery stays ours: the attempt's timeout plus 5 s for what surrounds the
 * request (tenant lookup, DNS, recording the outcome). A live sender finishes its attempt inside
 * the lease, however slow the receiver, so its delivery is never taken from it; a sender that
 * died mid-attempt has its delivery retaken by any instance once the lease has ended.
 */
export function webhookLeaseMs(timeoutMs: number): number {
  return timeoutMs + 5000;
}

/** `sha256=<hex HMAC-SHA256 of "<timestamp>.<body>">`, as docs/api.md ("Webhooks") tells receivers to verify. */
export function signPayload(secret: string, timestamp: number, body: string): string {
  return `sha256=${hmacHex(secret, `${timestamp}.${body}`)}`;
}

/** One attempt: null on success, else the error text and status. */
async function attempt(
  deps: WebhookSenderDeps,
  d: WebhookDeliveryRow,
): Promise<{ error: string; status: number | null; permanent?: boolean } | null> {
  const tenant = await deps.repos.tenants.byId(d.tenantId);
  if (!tenant) return { error: "tenant deleted", status: null, permanent: true };
  const url = new URL(d.url);
  // Resolved once; the request below connects to exactly this (checked) address.
  let address: Awaited<ReturnType<typeof resolveTarget>>;
  try {
    address = await resolveTarget(url, { resolve: deps.resolve, allowPrivate: deps.allowPrivateNetworks });
  } catch (err) {
    if (err instanceof BlockedAddressError) return { error: err.message, status: null, permanent: true };
    return { error: `DNS: ${(err as Error).message}`, status: null };
  }
  const timestamp = Math.floor(deps.clock.now() / 1000);
  try {
    const status = await postPinned({
      url,
      address,
      body: d.payload,
      timeoutMs: deps.timeoutMs,
      headers: {
        "content-type": "application/json",
        "user-agent": "StorageBrain-Webhook/1",
        "x-storagebrain-event": d.event,
        "x-storagebrain-delivery": d.id,
        "x-storagebrain-timestamp": String(timestamp),
        "x-storagebrain-signature": signPayload(await deps.webhookSecretOf(tenant), timestamp, d.payload),
      },
    });
    // A redirect (3xx) is a failed attempt, never followed: it could point inside.
    if (status >= 200 && status < 300) return null;
    return { error: `HTTP ${status}`, status };
  } catch (err) {
    return { error: (err as Error).message, status: null };
  }
}

/**
 * One attempt and its recorded outcome: 2xx → delivered; else retried after backoff·2^(n-1), or
 * dead. The outcome is recorded only if the delivery's lease is still the one it was claimed
 * with; otherwise another sender has retaken it and this result is dropped (logged).
 */
async function deliverOne(deps: WebhookSenderDeps, d: WebhookDeliveryRow): Promise<void> {
  const started = deps.clock.now();
  const lease = d.leaseUntil as number;
  const record = async (patch: Parameters<Repos["webhooks"]["recordAttempt"]>[2], now: number) => {
    const kept = await deps.repos.webhooks.recordAttempt(d.id, lease, patch, now);
    if (!kept)
      deps.logger.warn("webhook outcome dropped: the lease ended and the delivery was retaken", {
        deliveryId: d.id,
        outcome: patch.status,
        ms: now - started,
      });
    return kept;
  };
  const failure = await attempt(deps, d).catch((err) => ({ error: String(err), status: null, permanent: false }));
  const now = deps.clock.now();
  const attempts = d.attempts + 1;
  if (!failure) {
    if (!(await record({ status: "delivered", attempts, lastError: null, lastStatus: null, deliveredAt: now }, now)))
      return;
    deps.onAttempt?.("delivered");
    deps.logger.info("webhook delivered", { deliveryId: d.id, event: d.event, attempts, ms: now - started });
    return;
  }
  const dead = failure.permanent || attempts >= deps.maxAttempts;
  const kept = await record(
    {
      status: dead ? "dead" : "pending",
      attempts,
      nextAttemptAt: now + deps.backoffMs * 2 ** (attempts - 1),
      lastError: failure.error.slice(0, 500),
      lastStatus: failure.status,
    },
    now,
  );
  if (!kept) return;
  deps.onAttempt?.(dead ? "dead" : "retry");
  deps.logger.warn(dead ? "webhook dead" : "webhook attempt failed", {
    deliveryId: d.id,
    attempts,
    error: failure.error,
  });
}

/**
 * Sends due deliveries through a pool of `concurrency` requests: a free slot takes the next due
 * delivery at once, so one slow receiver holds one slot (at most WEBHOOK_TIMEOUT_MS), never the
 * others' deliveries. Drains: returns only when nothing is in flight or due, so one wake sends
 * every due delivery however many there are (each await on the pool yields to the event loop).
 * Returns the count of attempts made.
 */
export async function deliverDueWebhooks(deps: WebhookSenderDeps): Promise<number> {
  const concurrency = deps.concurrency ?? 8;
  const inFlight = new Set<Promise<void>>();
  let total = 0;
  for (;;) {
    const free = concurrency - inFlight.size;
    const now = deps.clock.now();
    const batch = free > 0 ? await deps.repos.webhooks.claimDue(now, free, now + webhookLeaseMs(deps.timeoutMs)) : [];
    // More due than the pool takes at once: a backlog (this run drains it, slot by slot).
    if (total === 0 && batch.length === concurrency) {
      const backlog = await webhookBacklog(deps.repos, deps.clock.now());
      if (backlog.count > 0) logBacklog(deps.logger, "webhooks", backlog);
    }
    for (const d of batch) {
      // Never rejects: a failure to record an outcome is logged; the row stays 'delivering' and is
      // retaken by a sender (this instance or another) once its lease has ended (at-least-once).
      const p: Promise<void> = deliverOne(deps, d)
        .catch((err) => deps.logger.error("webhook outcome not recorded", { deliveryId: d.id, err: String(err) }))
        .finally(() => inFlight.delete(p));
      inFlight.add(p);
    }
    total += batch.length;
    if (inFlight.size === 0) return total;
    // Wake when a slot frees up, or after a short while to pick up deliveries that became due
    // meanwhile (new events, ended backoffs): free slots must not wait for a slow receiver.
    await Promise.race([...inFlight, Bun.sleep(REPOLL_MS)]);
  }
}
