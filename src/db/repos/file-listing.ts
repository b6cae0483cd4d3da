import { and, desc, eq, gt, isNull, type SQL, type SQLWrapper, sql } from "drizzle-orm";
import type { Connection, Db, Tables } from "../connection";
import type { FileRow } from "../schema";
import { cached } from "./prepared-cache";

/** Which live files a listing, count or usage report covers. */
export interface FileFilters {
  tenantId: string;
  /** A workspace id; null = files in no workspace (the module's default bucket); undefined = any. */
  workspaceId?: string | null;
  context?: string;
  fileType?: string;
  /** A user's folder; null = the organization's own folder; undefined = any. */
  userId?: string | null;
  category?: string;
}

type FilterParam = "tenantId" | "workspaceId" | "userId" | "context" | "fileType" | "category";
const filterParams = (f: FileFilters): Record<FilterParam, string> => ({
  tenantId: f.tenantId,
  workspaceId: f.workspaceId ?? "",
  userId: f.userId ?? "",
  context: f.context ?? "",
  fileType: f.fileType ?? "",
  category: f.category ?? "",
});

/**
 * The one translation of FileFilters into conditions on live rows. Which filters are present
 * decides the SQL's shape; `value` supplies each value, either inline or as a placeholder of a
 * prepared statement (then the same shape is reused with other values).
 */
function liveConditions(files: Tables["files"], f: FileFilters, value: (name: FilterParam) => SQLWrapper): SQL[] {
  const c: SQL[] = [eq(files.tenantId, value("tenantId")), isNull(files.deletedAt)];
  if (f.workspaceId === null) c.push(isNull(files.workspaceId));
  else if (f.workspaceId) c.push(eq(files.workspaceId, value("workspaceId")));
  if (f.userId === null) c.push(isNull(files.userId));
  else if (f.userId !== undefined) c.push(eq(files.userId, value("userId")));
  if (f.context) c.push(eq(files.context, value("context")));
  if (f.fileType) c.push(eq(files.fileType, value("fileType")));
  if (f.category) c.push(eq(files.category, value("category")));
  return c;
}
/**
 * The read side of the files table: pages, totals, usage and context reports over live rows
 * (src/db/repos/files.repo.ts spreads these into `repos.files`).
 */
export function createFileListing(conn: Connection) {
  const { files, fileStats } = conn.tables;
  const db = () => conn.exec();
  const live = (f: FileFilters): SQL[] => {
    const v = filterParams(f);
    return liveConditions(files, f, (name) => sql`${v[name]}`);
  };

  // Listing queries are prepared once per combination of filters present (at most a few dozen):
  // building and compiling them per request was most of a list request's cost.
  const pages = new Map<string, ReturnType<typeof preparePage>>();
  const totals = new Map<string, ReturnType<typeof prepareTotal>>();
  const shape = (f: FileFilters) =>
    [
      f.workspaceId === null ? "w0" : f.workspaceId ? "w" : "",
      f.userId === null ? "u0" : f.userId !== undefined ? "u" : "",
      f.context ? "c" : "",
      f.fileType ? "t" : "",
      f.category ? "g" : "",
    ].join("");
  const params = filterParams;
  const P = (name: string) => sql.placeholder(name);
  function buildPage(db: Db, f: FileFilters, withCursor: boolean) {
    const c = liveConditions(files, f, P);
    // Row-value comparison: SQLite seeks the (created_at, id) index straight to the cursor; the
    // equivalent OR form made it walk the index from the newest row (~100 ms at 1M files).
    if (withCursor) c.push(sql`(${files.createdAt}, ${files.id}) < (${P("afterCreatedAt")}, ${P("afterId")})`);
    return db
      .select()
      .from(files)
      .where(and(...c))
      .orderBy(desc(files.createdAt), desc(files.id))
      .limit(P("limit"));
  }
  const preparePage = (f: FileFilters, withCursor: boolean) =>
    conn.prepared(`files_page_${shape(f)}_${withCursor ? "after" : "first"}`, (db) => buildPage(db, f, withCursor));
  function buildTotal(db: Db, f: FileFilters) {
    const c: SQL[] = [eq(fileStats.tenantId, P("tenantId"))];
    // The counters file "no workspace" under '' (see migrations/0001_init.sql).
    if (f.workspaceId === null) c.push(eq(fileStats.workspaceId, ""));
    else if (f.workspaceId) c.push(eq(fileStats.workspaceId, P("workspaceId")));
    if (f.context) c.push(eq(fileStats.context, P("context")));
    if (f.fileType) c.push(eq(fileStats.fileType, P("fileType")));
    return db
      .select({ n: sql<number>`coalesce(sum(${fileStats.fileCount}), 0)`.mapWith(Number) })
      .from(fileStats)
      .where(and(...c));
  }
  const prepareTotal = (f: FileFilters) => conn.prepared(`files_total_${shape(f)}`, (db) => buildTotal(db, f));
  const pageQuery = (f: FileFilters, withCursor: boolean) =>
    cached(pages, `${shape(f)}|${withCursor}`, () => preparePage(f, withCursor));
  const totalQuery = (f: FileFilters) => cached(totals, shape(f), () => prepareTotal(f));

  return {
    /** Newest first; keyset on (created_at, id) so concurrent inserts never shift pages. */
    async page(f: FileFilters, limit: number, after?: { createdAt: number; id: string }): Promise<FileRow[]> {
      return pageQuery(
        f,
        !!after,
      )({
        ...params(f),
        afterCreatedAt: after?.createdAt ?? 0,
        afterId: after?.id ?? "",
        limit,
      });
    },
    /** Live file count for the filters, from the trigger-maintained counters (no count(*) scan). */
    async total(f: FileFilters): Promise<number> {
      return (await totalQuery(f)(params(f)))[0]?.n ?? 0;
    },
    /** Exact count by scan, for filters the counters don't cover (user folder, category). */
    async countScan(f: FileFilters): Promise<number> {
      const [r] = await db()
        .select({ n: sql<number>`count(*)`.mapWith(Number) })
        .from(files)
        .where(and(...live(f)));
      return r?.n ?? 0;
    },
    /** Live completed bytes and counts grouped by a column, for the usage report. */
    async usageBy(tenantId: string, column: "category" | "userId", userId?: string) {
      const col = column === "category" ? files.category : files.userId;
      return db()
        .select({
          key: col,
          fileCount: sql<number>`count(*)`.mapWith(Number),
          bytes: sql<number>`coalesce(sum(${files.chargedBytes}), 0)`.mapWith(Number),
        })
        .from(files)
        .where(
          and(
            eq(files.tenantId, tenantId),
            isNull(files.deletedAt),
            eq(files.processingStatus, "completed"),
            userId === undefined ? undefined : eq(files.userId, userId),
          ),
        )
        .groupBy(col)
        .orderBy(sql`3 desc`);
    },
    async contexts(tenantId: string, workspaceId?: string) {
      const c: SQL[] = [eq(fileStats.tenantId, tenantId), gt(fileStats.fileCount, 0)];
      if (workspaceId) c.push(eq(fileStats.workspaceId, workspaceId));
      return db()
        .select({
          context: fileStats.context,
          fileCount: sql<number>`sum(${fileStats.fileCount})`.mapWith(Number),
          totalBytes: sql<number>`sum(${fileStats.totalBytes})`.mapWith(Number),
        })
        .from(fileStats)
        .where(and(...c))
        .groupBy(fileStats.context)
        .orderBy(sql`3 desc`);
    },
  };
}
