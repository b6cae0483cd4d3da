import { type AnyColumn, and, asc, desc, eq, gte, isNotNull, isNull, type SQL, sql } from "drizzle-orm";
import type { Connection } from "../connection";
import { dialectSql } from "../dialect-sql";
import type { FileRow, ProcessingStatus } from "../schema";

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
export function createAdminStatsRepo(conn: Connection) {
  const { fileStats, files, tenants, webhookDeliveries, workspaces } = conn.tables;
  const { utcDay, likeInsensitive } = dialectSql(conn.dialect);
  const db = () => conn.exec();
  const count = sql<number>`count(*)`.mapWith(Number);
  const sumOf = (column: AnyColumn) => sql<number>`coalesce(sum(${column}), 0)`.mapWith(Number);
  const one = async (q: PromiseLike<{ n: number }[]>) => (await q)[0]?.n ?? 0;
  return {
    async totals(uploadsSince: number) {
      return {
        tenants: await one(db().select({ n: count }).from(tenants)),
        files: await one(
          db()
            .select({ n: sumOf(fileStats.fileCount) })
            .from(fileStats),
        ),
        storedBytes: await one(
          db()
            .select({ n: sumOf(tenants.usedBytes) })
            .from(tenants),
        ),
        uploadsLast24h: await one(
          db()
            .select({ n: count })
            .from(files)
            .where(and(isNotNull(files.uploadedAt), gte(files.uploadedAt, uploadsSince))),
        ),
        failedWebhookDeliveries: await one(
          db().select({ n: count }).from(webhookDeliveries).where(eq(webhookDeliveries.status, "dead")),
        ),
      };
    },
    /** Every tenant with its usage and live file count, largest first. */
    async tenantUsage() {
      const counts = db()
        .select({ tenantId: fileStats.tenantId, n: sql<number>`sum(${fileStats.fileCount})`.as("n") })
        .from(fileStats)
        .groupBy(fileStats.tenantId)
        .as("c");
      return db()
        .select({
          id: tenants.id,
          name: tenants.name,
          quotaBytes: tenants.quotaBytes,
          usedBytes: tenants.usedBytes,
          fileCount: sql<number>`coalesce(${counts.n}, 0)`.mapWith(Number),
        })
        .from(tenants)
        .leftJoin(counts, eq(counts.tenantId, tenants.id))
        .orderBy(desc(tenants.usedBytes), asc(tenants.name));
    },
    async workspaceUsage(tenantId?: string) {
      return db()
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
        .orderBy(desc(workspaces.usedBytes), asc(workspaces.name));
    },
    /** Completed uploads per UTC day since `since` (days without uploads are absent). */
    async uploadsPerDay(since: number, tenantId?: string) {
      const day = utcDay(files.uploadedAt);
      return db()
        .select({ day, uploads: count, bytes: sumOf(files.sizeBytes) })
        .from(files)
        .where(
          and(
            isNotNull(files.uploadedAt),
            gte(files.uploadedAt, since),
            tenantId ? eq(files.tenantId, tenantId) : undefined,
          ),
        )
        .groupBy(day)
        .orderBy(day);
    },
    /** Live files matching the search, keyset-paginated on (created_at, id) in either direction. */
    async searchFiles(s: FileSearch, limit: number, after?: { createdAt: number; id: string }): Promise<FileRow[]> {
      const c: (SQL | undefined)[] = [eq(files.tenantId, s.tenantId), isNull(files.deletedAt)];
      if (s.workspaceId) c.push(eq(files.workspaceId, s.workspaceId));
      if (s.fileType) c.push(eq(files.fileType, s.fileType));
      if (s.status) c.push(eq(files.processingStatus, s.status));
      if (s.q) {
        const p = likePattern(s.q);
        c.push(sql`(${likeInsensitive(files.originalName, p)} OR ${likeInsensitive(files.context, p)})`);
      }
      const newest = s.order === "newest";
      if (after)
        c.push(
          newest
            ? sql`(${files.createdAt}, ${files.id}) < (${after.createdAt}, ${after.id})`
            : sql`(${files.createdAt}, ${files.id}) > (${after.createdAt}, ${after.id})`,
        );
      return db()
        .select()
        .from(files)
        .where(and(...c))
        .orderBy(...(newest ? [desc(files.createdAt), desc(files.id)] : [asc(files.createdAt), asc(files.id)]))
        .limit(limit);
    },
  };
}
