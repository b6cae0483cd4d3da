import type { Services } from "../app";
import { WEBHOOKS_WAKEUP } from "../db/repos/webhooks.repo";
import type { Runtime } from "../runtime";
import { type Backlog, type JobName, measureBacklogs, stallGraceMs, yieldToEventLoop } from "./backlog";
import { purgeDeleted } from "./purge";
import { Scheduler } from "./scheduler";
import { expireUploads, recoverInterruptedUploads, sweepFailedObjects } from "./upload-expiry";
import { deliverDueWebhooks } from "./webhook-delivery";

const TUS_SWEEP_BATCH = 100;

/** The running background jobs of a serving process. */
export interface Jobs {
  /** Stops scheduling and waits for runs in progress (shutdown). */
  stop(): Promise<void>;
  /**
   * Due work per job right now (count, oldest overdue age): what a metrics exporter or health
   * check reads to see a job falling behind. Each call runs three indexed count queries.
   */
  backlog(): Promise<Record<JobName, Backlog>>;
}

/** Starts the background jobs of a serving process. */
export async function startJobs(rt: Runtime, services: Services): Promise<Jobs> {
  const { repos, clock, logger, config } = rt;
  const backend = rt.objects.backend;
  // On SQLite this process is the only server of its database, so an upload left `processing`
  // was cut by its own crash. On PostgreSQL other instances may be streaming those uploads right
  // now: nothing is reset, and an upload whose instance died fails once stalled past the grace
  // period (stallGraceMs), like any stalled PUT.
  if (repos.dialect === "sqlite") {
    const recovered = await recoverInterruptedUploads(repos, clock, services.onFileSettled);
    if (recovered) logger.warn("uploads interrupted by a restart were reopened", { count: recovered });
  }
  // Deliveries left 'delivering' by a crash are not reset here: another instance may be sending
  // them right now. Their lease ends (WEBHOOK_TIMEOUT_MS + 5 s after the claim) and a sender
  // retakes them (webhooks.repo.ts claimDue).
  const scheduler = new Scheduler(logger)
    // Polled every 250 ms (an indexed query) and woken at once when an event is committed.
    .every("webhooks", 250, () =>
      deliverDueWebhooks({
        repos,
        clock,
        logger,
        maxAttempts: config.WEBHOOK_MAX_ATTEMPTS,
        backoffMs: config.WEBHOOK_BACKOFF_MS,
        timeoutMs: config.WEBHOOK_TIMEOUT_MS,
        allowPrivateNetworks: config.WEBHOOK_ALLOW_PRIVATE_NETWORKS,
        webhookSecretOf: services.tenants.webhookSecretOf,
        onAttempt: rt.metrics.webhookAttempt,
      }),
    )
    // Reservations first: the expiry run is database work only, so its interval holds whatever
    // the storage does; deleting what failed uploads left behind is the cleanup task's.
    .every("upload-expiry", config.UPLOAD_EXPIRY_INTERVAL_SECONDS * 1000, () =>
      expireUploads({
        repos,
        backend,
        clock,
        logger,
        stallGraceMs: stallGraceMs(config.UPLOAD_EXPIRY_SECONDS),
        onSettled: services.onFileSettled,
        sweepObjects: false,
      }),
    )
    .every("upload-cleanup", config.UPLOAD_EXPIRY_INTERVAL_SECONDS * 1000, async () => {
      await sweepFailedObjects({ repos, backend, clock, logger });
      // tus uploads: expire overdue ones, settle any whose last byte came just before a crash,
      // and drop the staging data (parts, tail) of every one that is over. Drained like the
      // others: a full batch ended means more may be waiting.
      while ((await services.tus.sweep(TUS_SWEEP_BATCH)) === TUS_SWEEP_BATCH) await yieldToEventLoop();
    })
    .every("purge", config.PURGE_INTERVAL_SECONDS * 1000, () =>
      purgeDeleted({ repos, backend, clock, logger, retentionSeconds: config.DELETED_RETENTION_SECONDS }),
    );
  // Woken in-process when this instance commits an event, and on PostgreSQL by every instance's
  // commits (LISTEN); the 250 ms poll stays as the fallback (a notification lost to a reconnect).
  services.webhookWaker.wake = () => scheduler.poke("webhooks");
  const wakeups = await rt.conn.listen?.(WEBHOOKS_WAKEUP.channel, (payload) => {
    if (payload === WEBHOOKS_WAKEUP.payload) scheduler.poke("webhooks");
  });
  return {
    async stop() {
      await wakeups?.close();
      await scheduler.stop();
    },
    backlog: () =>
      measureBacklogs(repos, {
        now: clock.now(),
        stallGraceMs: stallGraceMs(config.UPLOAD_EXPIRY_SECONDS),
        retentionSeconds: config.DELETED_RETENTION_SECONDS,
      }),
  };
}
