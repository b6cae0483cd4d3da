import { accessSync, constants } from "node:fs";
import { sql } from "drizzle-orm";
import { createServices } from "./app";
import { opsChecks } from "./cli/doctor-ops";
import type { Config } from "./config/schema";
import { LATEST_SCHEMA_VERSION, schemaVersion } from "./db/migrate";
import { createLogger } from "./logger";
import { ensurePrivateDir } from "./private-files";
import { openRuntime, type Runtime } from "./runtime";

/**
 * Checks config (already parsed by the caller), data dir, database and storage backend with a
 * write/read/delete probe, then the operations checks (cli/doctor-ops.ts: disk, master key
 * file, backend, outbox, orphans; `fix` repairs orphans). Prints one line per check; returns
 * false if any failed.
 */
export async function runDoctor(config: Config, opts: { fix?: boolean } = {}): Promise<boolean> {
  let ok = true;
  const report = (name: string, pass: boolean, info: string) => {
    ok &&= pass;
    console.log(`${pass ? "ok  " : "FAIL"} ${name}: ${info}`);
  };
  report("config", true, `backend=${config.STORAGE_BACKEND} dataDir=${config.DATA_DIR} port=${config.PORT}`);
  try {
    ensurePrivateDir(config.DATA_DIR);
    accessSync(config.DATA_DIR, constants.W_OK | constants.R_OK);
    report("data dir", true, `${config.DATA_DIR} is writable`);
  } catch (err) {
    report("data dir", false, (err as Error).message);
    return false;
  }
  let rt: Runtime;
  try {
    rt = await openRuntime(config, createLogger("error"));
    if (rt.sqlite) {
      const v = schemaVersion(rt.sqlite);
      report(
        "database",
        v === LATEST_SCHEMA_VERSION,
        `${config.databasePath} at schema v${v} (latest v${LATEST_SCHEMA_VERSION})`,
      );
    } else {
      // PostgreSQL: the same check through the connection; the SQLite file checks don't apply.
      const [row] = await rt.conn.rows<{ v: unknown }>(sql`SELECT max(version) AS v FROM schema_migrations`);
      const v = Number(row?.v ?? 0);
      report(
        "database",
        v === LATEST_SCHEMA_VERSION,
        `PostgreSQL at schema v${v} (latest v${LATEST_SCHEMA_VERSION}); SQLite file checks do not apply`,
      );
    }
  } catch (err) {
    report("database/keys", false, (err as Error).message);
    return false;
  }
  try {
    const key = `doctor/probe-${Date.now()}`;
    const data = new TextEncoder().encode("storage-brain doctor probe");
    const info = await rt.objects.write({ key, body: new Blob([data]).stream(), plainSize: data.byteLength });
    const back = await rt.objects.read({ key, ...info, plainSize: data.byteLength });
    const text = back ? await new Response(back).text() : null;
    await rt.objects.backend.delete(key);
    report(
      "storage",
      text === "storage-brain doctor probe",
      `${rt.objects.backend.name}: write/read/delete probe ${text ? "passed" : "failed"}`,
    );
  } catch (err) {
    report("storage", false, `${rt.objects.backend.name}: ${(err as Error).message}`);
  }
  try {
    await opsChecks(rt, createServices(rt), report, { fix: opts.fix ?? false });
  } catch (err) {
    report("operations checks", false, (err as Error).message);
  } finally {
    await rt.close();
  }
  return ok;
}
