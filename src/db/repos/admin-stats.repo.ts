import { and, asc, desc, eq, gte, isNotNull, isNull, type SQL, sql } from "drizzle-orm";
import type { Db } from "../client";
import {
  type FileRow,
  fileStats,
  files,
  type ProcessingStatus,
  tenants,
  webhookDeliveries,
  workspaces,
} from "../schema";

export interface FileSearch {
  tenantId: string;
  workspaceId?: string;
  fileType?: string;
  status?: ProcessingStatus;
  /** Case-insensitive substring of the file name or its context. */
  q?: string;
  order: "newest" | "oldest";
}

/** `%`, `_` and `\` in a user's search text match themselves. */
const likePattern = (q: string) => `%${q.replace(/[\\%_]/g, (c) => `\\${c}`)}%`;

/**
 * Instance-wide numbers for the admin overview and usage reports, and the admin file search.
 * Counts come from the trigger-maintained counters and indexed columns, never a files scan,
 * except the search (a substring match has no index to use; it is admin-only and paginated).
 */
export function createAdminStatsRepo(db: Db) {
  return {
    totals(uploadsSince: number) {
      const one = <T>(q: { get(): T | undefined }) => q.get();
      return {
        tenants: one(db.select({ n: sql<number>`count(*)` }).from(tenants))?.n ?? 0,
        files: one(db.select({ n: sql<number>`coalesce(sum(${fileStats.fileCount}), 0)` }).from(fileStats))?.n ?? 0,
        storedBytes: one(db.select({ n: sql<number>`coalesce(sum(${tenants.usedBytes}), 0)` }).from(tenants))?.n ?? 0,
        uploadsLast24h:
          one(
            db
              .select({ n: sql<number>`count(*)` })
              .from(files)
              .where(and(isNotNull(files.uploadedAt), gte(files.uploadedAt, uploadsSince))),
          )?.n ?? 0,
        failedWebhookDeliveries:
          one(
            db.select({ n: sql<number>`count(*)` }).from(webhookDeliveries).where(eq(webhookDeliveries.status, "dead")),
          )?.n ?? 0,
      };
    },
    /** Every tenant with its usage and live file count, largest first. */
    tenantUsage() {
      const counts = db
        .select({ tenantId: fileStats.tenantId, n: sql<number>`sum(${fileStats.fileCount})`.as("n") })
        .from(fileStats)
        .groupBy(fileStats.tenantId)
        .as("c");
      return db
        .select({
          id: tenants.id,
          name: tenants.name,
          quotaBytes: tenants.quotaBytes,
          usedBytes: tenants.usedBytes,
          fileCount: sql<number>`coalesce(${counts.n}, 0)`,
        })
        .from(tenants)
        .leftJoin(counts, eq(counts.tenantId, tenants.id))
        .orderBy(desc(tenants.usedBytes), asc(tenants.name))
        .all();
    },
    workspaceUsage(tenantId?: string) {
      return db
        .select({
          id: workspaces.id,
          tenantId: workspaces.tenantId,
          name: workspaces.name,
          slug: workspaces.slug,
          quotaBytes: workspaces.quotaBytes,
          usedBytes: workspaces.usedBytes,
        })
        .from(workspaces)
        .where(and(isNull(workspaces.deletedAt), tenantId ? eq(workspaces.tenantId, tenantId) : undefined))
        .orderBy(desc(workspaces.usedBytes), asc(workspaces.name))
        .all();
    },
    /** Completed uploads per UTC day since `since` (days without uploads are absent). */
    uploadsPerDay(since: number, tenantId?: string) {
      const day = sql<string>`strftime('%Y-%m-%d', ${files.uploadedAt} / 1000, 'unixepoch')`;
      return db
        .select({ day, uploads: sql<number>`count(*)`, bytes: sql<number>`coalesce(sum(${files.sizeBytes}), 0)` })
        .from(files)
        .where(
          and(
            isNotNull(files.uploadedAt),
            gte(files.uploadedAt, since),
            tenantId ? eq(files.tenantId, tenantId) : undefined,
          ),
        )
        .groupBy(day)
        .orderBy(day)
        .all();
    },
    /** Live files matching the search, keyset-paginated on (created_at, id) in either direction. */
    searchFiles(s: FileSearch, limit: number, after?: { createdAt: number; id: string }): FileRow[] {
      const c: (SQL | undefined)[] = [eq(files.tenantId, s.tenantId), isNull(files.deletedAt)];
      if (s.workspaceId) c.push(eq(files.workspaceId, s.workspaceId));
      if (s.fileType) c.push(eq(files.fileType, s.fileType));
      if (s.status) c.push(eq(files.processingStatus, s.status));
      if (s.q) {
        const p = likePattern(s.q);
        c.push(sql`(${files.originalName} LIKE ${p} ESCAPE '\\' OR ${files.context} LIKE ${p} ESCAPE '\\')`);
      }
      const newest = s.order === "newest";
      if (after)
        c.push(
          newest
            ? sql`(${files.createdAt}, ${files.id}) < (${after.createdAt}, ${after.id})`
            : sql`(${files.createdAt}, ${files.id}) > (${after.createdAt}, ${after.id})`,
        );
      return db
        .select()
        .from(files)
        .where(and(...c))
        .orderBy(...(newest ? [desc(files.createdAt), desc(files.id)] : [asc(files.createdAt), asc(files.id)]))
        .limit(limit)
        .all();
    },
  };
}
