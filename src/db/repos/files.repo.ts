import { and, eq, getTableColumns, gt, gte, isNull, sql } from "drizzle-orm";
import type { Connection } from "../connection";
import { dialectSql } from "../dialect-sql";
import type { FileRow, ProcessingStatus } from "../schema";
import { createFileListing } from "./file-listing";
import { cached } from "./prepared-cache";

export type NewFile = Omit<
  FileRow,
  | "sha256"
  | "wrappedKey"
  | "keyId"
  | "segmentSize"
  | "uploadStartedAt"
  | "uploadedAt"
  | "deletedAt"
  | "purgedAt"
  | "sweepLeaseUntil"
  | "metadata"
  | "chargedBytes"
  | "processingStatus"
  | "updatedAt"
  | "category"
  | "storedName"
  | "userId"
> &
  Partial<Pick<FileRow, "category" | "storedName" | "userId" | "processingStatus" | "uploadStartedAt">>;

/** Every column an insert writes, with the values a NewFile may leave out. */
const INSERT_DEFAULTS = {
  processingStatus: "pending",
  category: "general",
  storedName: null,
  userId: null,
  uploadStartedAt: null,
  sha256: null,
  wrappedKey: null,
  keyId: null,
  segmentSize: null,
  uploadedAt: null,
  deletedAt: null,
  purgedAt: null,
  sweepLeaseUntil: null,
  metadata: null,
} as const;
/** Every column's value for inserting `row` (the placeholders of a prepared insert). */
export function insertValuesOf(row: NewFile): Record<keyof FileRow, unknown> {
  return { ...INSERT_DEFAULTS, ...row, chargedBytes: 0, updatedAt: row.createdAt } as Record<keyof FileRow, unknown>;
}
const changed = (rows: unknown[]) => rows.length === 1;

/** File rows. Live = not soft-deleted. File SQL lives here and in file-listing.ts (the reads over many rows). */
export function createFilesRepo(conn: Connection) {
  const { files } = conn.tables;
  const db = () => conn.exec();
  const { skipLocked } = dialectSql(conn.dialect);
  const INSERT_COLUMNS = Object.keys(getTableColumns(files)) as (keyof FileRow)[];
  // Hot lookups prepared once: drizzle otherwise rebuilds and SQLite recompiles them per call
  // (measured 73 µs → 6.5 µs for liveById).
  const liveByIdQ = conn.prepared("files_live_by_id", (db) =>
    db
      .select()
      .from(files)
      .where(
        and(
          eq(files.id, sql.placeholder("id")),
          eq(files.tenantId, sql.placeholder("tenantId")),
          isNull(files.deletedAt),
        ),
      ),
  );
  const byIdQ = conn.prepared("files_by_id", (db) =>
    db
      .select()
      .from(files)
      .where(eq(files.id, sql.placeholder("id"))),
  );

  const P = (name: string) => sql.placeholder(name);
  // The writes of every upload (insert, claim, settle), prepared once like the lookups above:
  // building them with drizzle and compiling them in SQLite per call was ~30% of a small
  // upload's server CPU (docs/decisions.md, "Prepared statements on the hot path").
  const insertQ = conn.prepared("files_insert", (db) =>
    db
      .insert(files)
      .values(Object.fromEntries(INSERT_COLUMNS.map((c) => [c, P(c)])) as never)
      .returning(),
  );
  const claimQ = conn.prepared("files_claim", (db) =>
    db
      .update(files)
      .set({ processingStatus: "processing", uploadStartedAt: P("now") as never, updatedAt: P("now") as never })
      .where(
        and(
          eq(files.id, P("id")),
          eq(files.processingStatus, "pending"),
          isNull(files.deletedAt),
          gt(files.uploadExpiresAt, P("now")),
          gte(files.reservedBytes, P("minReserved")),
        ),
      )
      .returning(),
  );
  /** One prepared settle per set of patched columns (two in practice: completed and failed). */
  const finishQueries = new Map<string, ReturnType<typeof prepareFinish>>();
  function prepareFinish(keys: (keyof FileRow)[]) {
    const set = Object.fromEntries(keys.map((k) => [k, P(k)]));
    return conn.prepared(`files_finish_${keys.join("_")}`, (db) =>
      db
        .update(files)
        .set({
          ...set,
          processingStatus: P("status") as never,
          uploadStartedAt: null,
          uploadedAt: P("now") as never,
          updatedAt: P("now") as never,
        })
        .where(and(eq(files.id, P("id")), eq(files.processingStatus, "processing"), isNull(files.deletedAt)))
        .returning(),
    );
  }
  const finishQuery = (keys: (keyof FileRow)[]) =>
    cached(finishQueries, keys.sort().join(","), () => prepareFinish(keys));

  return {
    ...createFileListing(conn),
    async insert(row: NewFile): Promise<FileRow> {
      const [inserted] = await insertQ(insertValuesOf(row));
      return inserted as FileRow;
    },
    /** A live file of this tenant, or undefined (other tenants' ids look exactly like missing ones). */
    async liveById(tenantId: string, id: string): Promise<FileRow | undefined> {
      return (await liveByIdQ({ id, tenantId }))[0];
    },
    async byId(id: string): Promise<FileRow | undefined> {
      return (await byIdQ({ id }))[0];
    },
    /** A live file by its unique stored name in one folder (null = the organization's). */
    async liveByStoredName(tenantId: string, userId: string | null, storedName: string): Promise<FileRow | undefined> {
      const [r] = await db()
        .select()
        .from(files)
        .where(
          and(
            eq(files.tenantId, tenantId),
            userId === null ? isNull(files.userId) : eq(files.userId, userId),
            eq(files.storedName, storedName),
            isNull(files.deletedAt),
          ),
        )
        .limit(1);
      return r;
    },
    /**
     * pending → processing, only if unexpired; the one PUT that wins this owns the upload. Returns
     * the claimed row, or undefined when it was not pending (or, with `holdingReservation`, when it
     * holds no reserved bytes: the caller then reserves and claims in one transaction instead).
     */
    async claimUpload(
      id: string,
      now: number,
      opts: { holdingReservation?: boolean } = {},
    ): Promise<FileRow | undefined> {
      return (await claimQ({ id, now, minReserved: opts.holdingReservation ? 1 : 0 }))[0] as FileRow | undefined;
    },
    /**
     * A PUT that failed before storing anything usable gives the upload back (it may be retried
     * until expiry). True only if this call reopened it (a delete or expiry meanwhile already
     * released its quota).
     */
    async releaseClaim(id: string, now: number): Promise<boolean> {
      return changed(
        await db()
          .update(files)
          .set({ processingStatus: "pending", uploadStartedAt: null, updatedAt: now })
          .where(and(eq(files.id, id), eq(files.processingStatus, "processing"), isNull(files.deletedAt)))
          .returning({ one: sql`1` }),
      );
    },
    /** Zeroes a pending row's reservation if it still holds exactly `held` bytes; true if it did. */
    async dropReservation(id: string, held: number, now: number): Promise<boolean> {
      return changed(
        await db()
          .update(files)
          .set({ reservedBytes: 0, updatedAt: now })
          .where(
            and(
              eq(files.id, id),
              eq(files.processingStatus, "pending"),
              isNull(files.deletedAt),
              eq(files.reservedBytes, held),
            ),
          )
          .returning({ one: sql`1` }),
      );
    },
    /** Moves a processing row to its final state and returns it; undefined if it was deleted or expired meanwhile. */
    async finish(
      id: string,
      status: Extract<ProcessingStatus, "completed" | "failed">,
      patch: Partial<FileRow>,
      now: number,
    ): Promise<FileRow | undefined> {
      return (await finishQuery(Object.keys(patch) as (keyof FileRow)[])({ ...patch, id, status, now }))[0] as
        | FileRow
        | undefined;
    },
    /**
     * Fails an expired upload if it is still in the state the job saw, holding the reservation the
     * caller saw (so the amount the caller releases is the one held); releases nothing itself.
     * Of several instances' jobs racing for one upload exactly one gets true. On PostgreSQL a row
     * another transaction holds (another instance expiring it, a request changing it) is skipped
     * at once, false, rather than waited for; the next run looks at it again if it is still due.
     */
    async expire(
      id: string,
      from: ProcessingStatus,
      held: number,
      now: number,
      reason: "expired" | "interrupted" = "expired",
    ): Promise<boolean> {
      return changed(
        await db()
          .update(files)
          .set({
            processingStatus: "failed",
            metadata: { failureReason: reason },
            reservedBytes: 0,
            uploadStartedAt: null,
            updatedAt: now,
          })
          .where(
            sql`${files.id} IN (SELECT ${files.id} FROM ${files} WHERE ${and(
              eq(files.id, id),
              eq(files.processingStatus, from),
              eq(files.reservedBytes, held),
              isNull(files.deletedAt),
            )}${skipLocked})`,
          )
          .returning({ one: sql`1` }),
      );
    },
    async update(id: string, patch: Partial<FileRow>, now: number): Promise<FileRow | undefined> {
      const [r] = await db()
        .update(files)
        .set({ ...patch, updatedAt: now })
        .where(eq(files.id, id))
        .returning();
      return r;
    },
    async softDelete(id: string, now: number): Promise<boolean> {
      return changed(
        await db()
          .update(files)
          .set({ deletedAt: now, reservedBytes: 0, chargedBytes: 0, updatedAt: now })
          .where(and(eq(files.id, id), isNull(files.deletedAt)))
          .returning({ one: sql`1` }),
      );
    },
    async liveInWorkspace(workspaceId: string): Promise<FileRow[]> {
      return db()
        .select()
        .from(files)
        .where(and(eq(files.workspaceId, workspaceId), isNull(files.deletedAt)));
    },
  };
}
