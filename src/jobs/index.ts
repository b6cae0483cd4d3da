import type { Services } from "../app";
import type { Runtime } from "../runtime";
import { purgeDeleted } from "./purge";
import { Scheduler } from "./scheduler";
import { expireUploads, recoverInterruptedUploads } from "./upload-expiry";
import { deliverDueWebhooks } from "./webhook-delivery";

/** How long a PUT may stream before the expiry job treats it as dead. */
export function stallGraceMs(uploadExpirySeconds: number): number {
  return Math.max(uploadExpirySeconds * 1000, 60 * 60 * 1000);
}

/** Starts the background jobs of a serving process; returns the scheduler to stop on shutdown. */
export function startJobs(rt: Runtime, services: Services): Scheduler {
  const { repos, clock, logger, config } = rt;
  const backend = rt.objects.backend;
  const recovered = recoverInterruptedUploads(repos, clock, services.onFileSettled);
  if (recovered) logger.warn("uploads interrupted by a restart were reopened", { count: recovered });
  const resumed = repos.webhooks.resetDelivering(clock.now());
  if (resumed) logger.warn("webhook deliveries interrupted by a restart were re-queued", { count: resumed });
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
        onAttempt: rt.metrics.webhookAttempt,
      }),
    )
    .every("upload-expiry", 30_000, async () => {
      await expireUploads({
        repos,
        backend,
        clock,
        logger,
        stallGraceMs: stallGraceMs(config.UPLOAD_EXPIRY_SECONDS),
        onSettled: services.onFileSettled,
      });
      // tus uploads: expire overdue ones, settle any whose last byte came just before a crash,
      // and drop the staging data (parts, tail) of every one that is over.
      await services.tus.sweep();
    })
    .every("purge", 10 * 60_000, () =>
      purgeDeleted({ repos, backend, clock, logger, retentionSeconds: config.DELETED_RETENTION_SECONDS }),
    );
  services.webhookWaker.wake = () => scheduler.poke("webhooks");
  return scheduler;
}
