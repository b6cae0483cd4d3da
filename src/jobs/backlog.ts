import type { Repos } from "../db/repos";
import type { Logger } from "../logger";

/** How long a PUT may stream before the expiry job treats it as dead. */
export function stallGraceMs(uploadExpirySeconds: number): number {
  return Math.max(uploadExpirySeconds * 1000, 60 * 60 * 1000);
}

/**
 * Due work a job has not done yet: how many items, and how long the oldest of them has been due
 * (0 when nothing is due). A job that keeps up shows a count near zero between runs; a growing
 * count or age means the job runs less often, or in smaller batches, than its load needs.
 */
export interface Backlog {
  count: number;
  oldestOverdueMs: number;
}

export type JobName = "upload-expiry" | "purge" | "webhooks";

/** What each backlog measurement needs beyond the database. */
export interface BacklogParams {
  now: number;
  /** A PUT streaming longer than this is dead (see stallGraceMs in jobs/index.ts). */
  stallGraceMs: number;
  retentionSeconds: number;
}

const overdue = (now: number, dueAt: number | null) => (dueAt === null ? 0 : Math.max(0, now - dueAt));

export async function expiryBacklog(repos: Repos, now: number, stallGraceMs: number): Promise<Backlog> {
  const b = await repos.fileSweeps.expiryBacklog(now, now - stallGraceMs);
  const stalledDue = b.oldestStalledStart === null ? null : b.oldestStalledStart + stallGraceMs;
  const dues = [b.oldestExpiresAt, stalledDue].filter((d): d is number => d !== null);
  return { count: b.count, oldestOverdueMs: overdue(now, dues.length ? Math.min(...dues) : null) };
}

export async function purgeBacklog(repos: Repos, now: number, retentionSeconds: number): Promise<Backlog> {
  const b = await repos.fileSweeps.purgeBacklog(now - retentionSeconds * 1000);
  const dueAt = b.oldestDeletedAt === null ? null : b.oldestDeletedAt + retentionSeconds * 1000;
  return { count: b.count, oldestOverdueMs: overdue(now, dueAt) };
}

export async function webhookBacklog(repos: Repos, now: number): Promise<Backlog> {
  const b = await repos.webhooks.dueBacklog(now);
  return { count: b.count, oldestOverdueMs: overdue(now, b.oldestDueAt) };
}

/** All three backlogs as of `now` (indexed count queries; cheap enough for a metrics scrape). */
export async function measureBacklogs(repos: Repos, p: BacklogParams): Promise<Record<JobName, Backlog>> {
  return {
    "upload-expiry": await expiryBacklog(repos, p.now, p.stallGraceMs),
    purge: await purgeBacklog(repos, p.now, p.retentionSeconds),
    webhooks: await webhookBacklog(repos, p.now),
  };
}

/** The one log line for a job that found more due work than one batch takes. */
export function logBacklog(logger: Logger, job: JobName, backlog: Backlog): void {
  logger.info("job backlog", { job, count: backlog.count, oldestOverdueMs: backlog.oldestOverdueMs });
}

/**
 * Lets queued I/O and requests run between two batches of a job, so a long drain never holds the
 * event loop for more than one batch (setImmediate runs after pending I/O callbacks).
 */
export function yieldToEventLoop(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve));
}
