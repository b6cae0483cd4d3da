import type { Runtime } from "../runtime";
import { expireUploads, recoverInterruptedUploads } from "./upload-expiry";
import { purgeDeleted } from "./purge";
import { Scheduler } from "./scheduler";

/** How long a PUT may stream before the expiry job treats it as dead. */
export function stallGraceMs(uploadExpirySeconds: number): number {
  return Math.max(uploadExpirySeconds * 1000, 60 * 60 * 1000);
}

/** Starts the background jobs of a serving process; returns the scheduler to stop on shutdown. */
export function startJobs(rt: Runtime): Scheduler {
  const { repos, clock, logger, config } = rt;
  const backend = rt.objects.backend;
  const recovered = recoverInterruptedUploads(repos, clock);
  if (recovered) logger.warn("uploads interrupted by a restart were reopened", { count: recovered });
  return new Scheduler(logger)
    .every("upload-expiry", 30_000, () => expireUploads({ repos, backend, clock, logger, stallGraceMs: stallGraceMs(config.UPLOAD_EXPIRY_SECONDS) }))
    .every("purge", 10 * 60_000, () => purgeDeleted({ repos, backend, clock, logger, retentionSeconds: config.DELETED_RETENTION_SECONDS }));
}
