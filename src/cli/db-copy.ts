import { resolve } from "node:path";
import { LATEST_SCHEMA_VERSION, WRITTEN_BY } from "../db/migrate";
import { VERSION } from "../version";
import { COPY_ORDER, type CopyEnd, DbCopyError, openCopyEnd, type QuotaTotals, type TableKey } from "./db-copy-sides";
import { createProgress } from "./progress";

export { DbCopyError } from "./db-copy-sides";

export interface DbCopyReport {
  rows: Record<TableKey, number>;
  totals: QuotaTotals;
  migrationsApplied: string[];
  seconds: number;
}

/**
 * `storage-brain db copy --from <url> --to <url> [--force]`: moves a deployment's metadata between
 * SQLite (`file:<path>`) and PostgreSQL (`postgres://…`), either way (docs/operations.md).
 *
 * - The source must be at this binary's schema version (it is never migrated: it is read only).
 * - The target is migrated to that version first, then filled in ONE transaction: either all of
 *   it is there, verified, or none of it.
 * - The source is read in ONE read-only transaction (a consistent snapshot, even if a server were
 *   still writing), table by table in foreign-key order, in keyset-paged batches, so memory stays
 *   flat whatever the number of files.
 * - A target holding any row is refused unless `force`, which empties it inside the same
 *   transaction (so a failed forced copy leaves the old contents).
 * - Before committing, every table's row count and the tenants' and workspaces' used/reserved
 *   byte totals are compared with the snapshot's; any difference rolls everything back.
 * `file_stats` (counters the file triggers maintain) is copied as is, not recomputed, so the
 * target is an exact copy; on PostgreSQL the file triggers are off during the copy (ALTER TABLE
 * … DISABLE TRIGGER USER, transactional), on SQLite what they wrote is replaced.
 */
export async function dbCopy(opts: {
  from: string;
  to: string;
  force: boolean;
  batchSize?: number;
  out?: (line: string) => void;
}): Promise<DbCopyReport> {
  const out = opts.out ?? ((l: string) => console.log(l));
  const batchSize = opts.batchSize ?? 1000;
  if (sameDatabase(opts.from, opts.to)) throw new DbCopyError("--from and --to are the same database");
  const started = performance.now();
  const source = openCopyEnd(opts.from, "source");
  let target: CopyEnd | undefined;
  try {
    const schema = await source.schema();
    if (schema.pending.length > 0 || schema.version !== LATEST_SCHEMA_VERSION)
      throw new DbCopyError(
        `the source (${source.label}) has schema v${schema.version}, this Storage Brain ${VERSION} has v${LATEST_SCHEMA_VERSION} ` +
          `(missing: ${schema.pending.join(", ")}). Bring the source up to date first: stop its server and run ` +
          "`storage-brain migrate` with DATABASE_URL set to it, then copy again.",
      );
    target = openCopyEnd(opts.to, "target");
    const migrationsApplied = await target.migrate();
    out(`source: ${source.label} (schema v${schema.version})`);
    out(
      `target: ${target.label} (${migrationsApplied.length ? `migrated: ${migrationsApplied.join(", ")}` : "schema up to date"})`,
    );
    const dst = target;
    const result = await source.snapshot(async (src) => {
      const expected = { rows: {} as Record<TableKey, number>, totals: await src.quotaTotals() };
      for (const key of COPY_ORDER) expected.rows[key] = await src.count(key);
      await dst.write(async (w) => {
        const present = [];
        for (const key of COPY_ORDER) {
          const n = await w.count(key);
          if (n > 0) present.push(`${key}: ${n}`);
        }
        if (present.length > 0) {
          if (!opts.force)
            throw new DbCopyError(
              `the target is not empty (${present.join(", ")}); pass --force to replace its contents`,
            );
          out(`--force: emptying the target (${present.join(", ")})`);
          await w.clear(COPY_ORDER);
        }
        if (w.dialect === "postgres") await w.exec("ALTER TABLE files DISABLE TRIGGER USER");
        for (const key of COPY_ORDER) {
          // The counters the SQLite file triggers wrote while files were inserted are replaced.
          if (key === "fileStats") await w.clear(["fileStats"]);
          if (expected.rows[key] === 0) continue;
          // Progress lines for the big tables; one line for the small ones.
          const progress =
            expected.rows[key] > batchSize
              ? createProgress({
                  label: `copied ${key}`,
                  totalItems: expected.rows[key],
                  unit: "rows",
                  write: (s) => out(s.trimEnd()),
                })
              : null;
          for await (const batch of src.batches(key, batchSize)) {
            // The target's migrate wrote its own schema_written_by.
            const rows = key === "settings" ? batch.filter((r) => r.key !== WRITTEN_BY) : batch;
            await w.insert(key, rows);
            progress?.add(rows.length);
          }
          if (progress) progress.done();
          else out(`copied ${key}: ${expected.rows[key]} rows`);
        }
        if (w.dialect === "postgres") await w.exec("ALTER TABLE files ENABLE TRIGGER USER");
        const got = { rows: {} as Record<TableKey, number>, totals: await w.quotaTotals() };
        for (const key of COPY_ORDER) got.rows[key] = await w.count(key);
        const diffs = [
          ...COPY_ORDER.filter((k) => got.rows[k] !== expected.rows[k]).map(
            (k) => `${k}: ${expected.rows[k]} rows in the source, ${got.rows[k]} in the target`,
          ),
          ...(Object.keys(expected.totals) as (keyof QuotaTotals)[])
            .filter((k) => got.totals[k] !== expected.totals[k])
            .map((k) => `${k}: ${expected.totals[k]} in the source, ${got.totals[k]} in the target`),
        ];
        if (diffs.length)
          throw new DbCopyError(`verification failed, nothing was written to the target: ${diffs.join("; ")}`);
      });
      return expected;
    });
    const seconds = (performance.now() - started) / 1000;
    const total = Object.values(result.rows).reduce((a, b) => a + b, 0);
    out(
      `copied ${total} rows in ${COPY_ORDER.length} tables in ${seconds.toFixed(1)} s; verified: row counts per table ` +
        `and quota totals equal (tenants used ${result.totals.tenantsUsedBytes} B, reserved ${result.totals.tenantsReservedBytes} B; ` +
        `workspaces used ${result.totals.workspacesUsedBytes} B, reserved ${result.totals.workspacesReservedBytes} B)`,
    );
    return { ...result, migrationsApplied, seconds };
  } finally {
    await source.close();
    await target?.close();
  }
}

function sameDatabase(a: string, b: string): boolean {
  const norm = (u: string) =>
    u.startsWith("file:") ? `file:${resolve(u.slice("file:".length))}` : u.replace(/\/+$/, "");
  return norm(a) === norm(b);
}
