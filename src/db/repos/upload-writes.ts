import { getTableColumns, Param, type SQL, sql } from "drizzle-orm";
import type { Connection, Db } from "../connection";
import type { PgDb } from "../pg/connect";
import type { FileRow } from "../schema";
import { type createFilesRepo, insertValuesOf, type NewFile } from "./files.repo";
import { cached } from "./prepared-cache";
import type { createQuotaRepo } from "./quota.repo";

type FilesRepo = ReturnType<typeof createFilesRepo>;
type QuotaRepo = ReturnType<typeof createQuotaRepo>;

/** What a settle writes besides the status: the verified size, hash, key, or the failure's metadata. */
export type SettlePatch = Partial<Omit<FileRow, "id" | "tenantId" | "processingStatus">>;

/**
 * The two writes every upload makes to its tenant's hot rows (the tenant's quota counters and the
 * file_stats row of its kind), each one atomic unit that joins the caller's transaction if one is
 * open:
 * - `insertReserving`: reserve the new file's bytes on the tenant and insert it (pending), or
 *   neither when the quota refuses;
 * - `settle`: move a processing file to completed/failed, releasing its reservation and charging
 *   what it stored, or nothing when it is no longer processing.
 *
 * On PostgreSQL each is ONE statement (data-modifying CTEs), run on its own when no transaction is
 * open: the hot rows stay locked from that statement to its commit, with no round trip to this
 * process in between. As separate statements in a transaction, every other upload of the tenant
 * waited for the server to come back between them; one statement roughly doubled the rate of one
 * tenant's concurrent small uploads (docs/decisions.md, "Hot rows on PostgreSQL"). On SQLite they
 * are the same steps in a transaction (serialized anyway).
 */
export function createUploadWrites(conn: Connection, repos: { files: FilesRepo; quota: QuotaRepo }) {
  return conn.dialect === "pg" ? pgUploadWrites(conn) : stepwiseUploadWrites(conn, repos);
}

/** Statuses a settle ends in. */
type Settled = "completed" | "failed";

/** The same writes as separate repository calls in one transaction (SQLite). */
function stepwiseUploadWrites(conn: Connection, { files, quota }: { files: FilesRepo; quota: QuotaRepo }) {
  const rollback = new Error("upload write rolled back");
  return {
    async insertReserving(row: NewFile & { reservedBytes: number }): Promise<FileRow | undefined> {
      return conn.tx(async () =>
        (await quota.reserveTenant(row.tenantId, row.reservedBytes)) ? await files.insert(row) : undefined,
      );
    },
    async settle(f: FileRow, status: Settled, patch: SettlePatch, charged: number, now: number) {
      try {
        return await conn.tx(async () => {
          await quota.adjust(f, -f.reservedBytes, charged);
          const row = await files.finish(f.id, status, { ...patch, reservedBytes: 0, chargedBytes: charged }, now);
          if (!row) throw rollback; // no longer processing: the counters stay as they were
          return row;
        });
      } catch (err) {
        if (err === rollback) return undefined;
        throw err;
      }
    },
  };
}

/** The same writes as one PostgreSQL statement each. */
function pgUploadWrites(conn: Connection) {
  const { files, tenants, workspaces } = conn.tables;
  const P = (name: string) => sql.placeholder(name);
  const columns = getTableColumns(files);
  const pg = (db: Db) => db as unknown as PgDb;

  // The reservation as a CTE; the insert reads it, so it runs first (the tenant's row locked
  // before the files trigger updates file_stats, at the end of the statement) and inserts nothing
  // when it reserved nothing. Values are typed by casts: in INSERT … SELECT PostgreSQL can't infer
  // a parameter's type from the target column.
  const insertQ = conn.prepared("upload_insert_reserving", (db) => {
    const reservation = pg(db)
      .$with("reservation", { one: sql<number>`one` })
      .as(
        sql`UPDATE ${tenants} SET reserved_bytes = reserved_bytes + ${P("reservedBytes")}
            WHERE id = ${P("tenantId")} AND used_bytes + reserved_bytes + ${P("reservedBytes")} <= quota_bytes
            RETURNING 1 AS one`,
      );
    const values = Object.entries(columns).map(
      ([key, col]) => sql`CAST(${new Param(P(key), col)} AS ${sql.raw(col.getSQLType())})`,
    );
    return pg(db)
      .with(reservation)
      .insert(files as never)
      .select(sql`SELECT ${sql.join(values, sql`, `)} WHERE EXISTS (SELECT 1 FROM reservation)`)
      .returning() as never;
  });

  /** The quota counters of `table`'s row `idParam`, moved by the settle's deltas if the file settled. */
  const moveCounters = (db: Db, alias: string, table: typeof tenants | typeof workspaces, idParam: string) =>
    pg(db)
      .$with(alias, { one: sql<number>`one` })
      .as(
        sql`UPDATE ${table} SET reserved_bytes = greatest(0, reserved_bytes + ${P("reserved")}),
              used_bytes = greatest(0, used_bytes + ${P("used")})
            WHERE id = ${P(idParam)} AND EXISTS (SELECT 1 FROM finished) RETURNING 1 AS one`,
      );
  type SettleQuery = (params?: Record<string, unknown>) => Promise<FileRow[]>;
  const settleQueries = new Map<string, SettleQuery>();
  // The finish first (its row is this upload's alone); the counters move only if it matched. The
  // files trigger's file_stats update runs at the end of the statement, after the tenant's row.
  function prepareSettle(keys: string[]): SettleQuery {
    const set: SQL[] = keys.map((k) => {
      const col = columns[k as keyof typeof columns];
      return sql`${sql.identifier(col.name)} = ${new Param(P(k), col)}`;
    });
    return conn.prepared(`upload_settle_${keys.join("_")}`, (db) => {
      const finished = pg(db)
        .$with("finished", columns)
        .as(
          sql`UPDATE ${files} SET ${sql.join(set, sql`, `)}, processing_status = ${P("status")}, upload_started_at = NULL,
                uploaded_at = ${P("now")}, updated_at = ${P("now")}
              WHERE id = ${P("id")} AND processing_status = 'processing' AND deleted_at IS NULL
              RETURNING *` as never,
        );
      return pg(db)
        .with(
          finished,
          moveCounters(db, "tenant_counters", tenants, "tenantId"),
          moveCounters(db, "workspace_counters", workspaces, "workspaceId"),
        )
        .select()
        .from(finished as never) as never;
    }) as SettleQuery;
  }

  return {
    async insertReserving(row: NewFile & { reservedBytes: number }): Promise<FileRow | undefined> {
      const [inserted] = (await insertQ(insertValuesOf(row))) as FileRow[];
      return inserted;
    },
    async settle(f: FileRow, status: Settled, patch: SettlePatch, charged: number, now: number) {
      const values = { ...patch, reservedBytes: 0, chargedBytes: charged };
      const keys = Object.keys(values).sort();
      const [row] = await cached(settleQueries, keys.join(","), () => prepareSettle(keys))({
        ...values,
        status,
        now,
        id: f.id,
        tenantId: f.tenantId,
        workspaceId: f.workspaceId ?? "",
        reserved: -f.reservedBytes,
        used: charged,
      });
      return row;
    },
  };
}
