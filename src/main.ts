#!/usr/bin/env bun
import { Database } from "bun:sqlite";
import { existsSync } from "node:fs";
import { createApp, createServices, withAccessLog } from "./app";
import { intFlag, parseCommandArgs, UsageError } from "./cli/args";
import { configuredLocation, describeLocation, openLocation, parseBackendUrl, sameLocation } from "./cli/backend-url";
import { backup } from "./cli/backup";
import { DbCopyError, dbCopy } from "./cli/db-copy";
import { copyObjects, summaryLines } from "./cli/objects-copy";
import { RestoreError, restore } from "./cli/restore";
import { rotateMasterKey } from "./cli/rotate-master-key";
import { ConfigError, loadConfig } from "./config/load";
import type { Config } from "./config/schema";
import { assertKnownSchema, pendingMigrations } from "./db/migrate";
import { openPostgres } from "./db/pg/connect";
import { assertKnownPostgresSchema, pendingPostgresMigrations } from "./db/pg/migrate";
import { runDoctor } from "./doctor";
import { MAX_FILE_SIZE_BYTES } from "./domain/files/file-types";
import { DeploymentSecretsError } from "./domain/ops/deployment-secrets";
import { AppError } from "./domain/shared/errors";
import { serveNode } from "./http/node-server";
import { withRequestMetrics } from "./http/request-metrics";
import { startJobs } from "./jobs";
import { createLogger } from "./logger";
import { openRuntime, type Runtime } from "./runtime";
import { VERSION } from "./version";

const HELP = `storage-brain ${VERSION} — self-hosted file storage

Usage: storage-brain [command]

Commands:
  serve                                   start the HTTP server (default)
  migrate [--dry-run]                     apply database migrations and exit (--dry-run: list pending ones)
  admin create-tenant --name N [--quota-bytes B]
                                          create a tenant; prints its API key once
  admin regenerate-key <tenantId> [--grace-seconds S]
                                          issue a new API key (the old one stops working, or after S seconds)
  admin recalculate-usage [tenantId]      recompute used bytes from the files table
  admin rotate-master-key [--batch-size N] [--pause-ms MS]
                                          re-wrap every file's data key under a new master key
                                          (resumable; both keys work until it finishes)
  doctor [--fix]                          check config, data dir, database, storage, disk, keys, outbox
                                          and orphans; exit 1 on failure. --fix deletes orphan objects
                                          older than an hour and fails rows whose object is gone
  backup <dir> [--include-master-key]     online, consistent backup (database + local objects + manifest)
  restore <dir> --data-dir <dir> [--force] [--include-master-key]
                                          verify a backup's checksums, then restore it into a data dir
  objects copy --to <url> [--from <url>] [--concurrency N]
                                          copy every stored object, as stored (encrypted), to another
                                          backend; objects already there with the same size are skipped,
                                          so a rerun resumes. --from defaults to the configured backend.
                                          <url>: file:<objects dir> or s3://<bucket>/[<prefix>/]
                                          [?endpoint=<url>&region=<r>&path-style=true]; S3 credentials
                                          from AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY
  db copy --from <url> --to <url> [--force]
                                          copy all metadata between databases (file:<path> for SQLite,
                                          postgres://… for PostgreSQL) from a consistent snapshot; the
                                          target is migrated, must be empty (--force empties it), and
                                          is verified (row counts, quota totals) before commit
  healthcheck                             exit 0 if the local server answers /health (for Docker)
  version                                 print the version
  --help                                  this text

Configuration: defaults → storage-brain.config.ts (or STORAGE_BRAIN_CONFIG) → environment. See README.md.`;

async function withRuntime<T>(config: Config, fn: (rt: Runtime) => Promise<T> | T): Promise<T> {
  const rt = await openRuntime(config, createLogger("warn"));
  try {
    return await fn(rt);
  } finally {
    await rt.close();
  }
}

function printAdminKeyBanner(key: string) {
  const line = "=".repeat(72);
  process.stdout.write(
    `${line}\n  Storage Brain generated an admin API key. It is shown ONCE; store it now.\n\n  ADMIN_API_KEY=${key}\n\n  Only its SHA-256 hash is kept. Set ADMIN_API_KEY to use a key of your own.\n${line}\n`,
  );
}

async function serve(config: Config) {
  const logger = createLogger(config.LOG_LEVEL);
  const t0 = performance.now();
  const rt = await openRuntime(config, logger, undefined, { generateAdminKey: true });
  if (rt.generatedAdminKey) printAdminKeyBanner(rt.generatedAdminKey);
  const services = createServices(rt);
  const app = createApp(rt, services);
  const jobs = await startJobs(rt, services);
  // node:http, not Bun.serve: Bun.serve drops the Content-Length of streamed downloads (see
  // http/node-server.ts).
  const server = await serveNode({
    port: config.PORT,
    hostname: config.HOST,
    fetch: withRequestMetrics(withAccessLog(app.fetch, logger), rt.metrics),
    // Uploads stream; this only caps what is accepted at all (the largest file either upload path
    // takes, plus slack for headers/multipart). Each path checks its own limit.
    maxRequestBodySize: Math.max(MAX_FILE_SIZE_BYTES, config.TUS_MAX_SIZE) + 1024 * 1024,
    // Above the upload idle timeout, so a stalled upload body is dropped by our timer (which
    // returns its reservation and logs it), not silently by the socket.
    idleTimeoutSeconds: Math.max(120, Math.ceil(config.UPLOAD_IDLE_TIMEOUT_MS / 1000) + 10),
  });
  logger.info("listening", {
    url: `http://${server.hostname}:${server.port}`,
    port: server.port,
    backend: rt.objects.backend.name,
    dataDir: config.DATA_DIR,
    version: VERSION,
    startupMs: Math.round(performance.now() - t0),
    migrationsApplied: rt.migrationsApplied,
  });

  let stopping = false;
  const shutdown = async (signal: string) => {
    if (stopping) return;
    stopping = true;
    logger.info("shutting down", { signal });
    await server.stop(); // stop accepting, let in-flight requests finish
    await jobs.stop();
    await rt.close();
    logger.info("stopped");
    process.exit(0);
  };
  process.on("SIGTERM", () => void shutdown("SIGTERM"));
  process.on("SIGINT", () => void shutdown("SIGINT"));
}

const ADMIN_COMMANDS = new Set(["create-tenant", "regenerate-key", "recalculate-usage", "rotate-master-key"]);

async function admin(config: Config, args: string[]) {
  const [sub, ...rest] = args;
  if (!sub || !ADMIN_COMMANDS.has(sub)) throw new UsageError(`unknown admin command: ${sub ?? "(none)"}`);
  await withRuntime(config, async (rt) => {
    const services = createServices(rt);
    const cliAudit = (action: string, tenantId: string | null, details: Record<string, unknown> | null) =>
      services.audit.record({
        actor: { type: "cli" },
        action,
        target: tenantId ? `tenants/${tenantId}` : null,
        tenantId,
        details,
      });
    switch (sub) {
      case "create-tenant": {
        const { values } = parseCommandArgs(rest, {
          options: { name: { type: "string" }, "quota-bytes": { type: "string" } },
        });
        const name = values.name as string | undefined;
        if (!name) throw new UsageError("--name is required");
        const quota = values["quota-bytes"];
        const quotaBytes = quota === undefined ? undefined : intFlag(quota, "--quota-bytes", 0);
        const { tenant, apiKey } = await services.tenants.create({ name, quotaBytes });
        await cliAudit("tenant.create", tenant.id, { name, quotaBytes: tenant.quotaBytes });
        console.log(
          JSON.stringify({ id: tenant.id, name: tenant.name, apiKey, quotaBytes: tenant.quotaBytes }, null, 2),
        );
        return;
      }
      case "regenerate-key": {
        const { values, positionals } = parseCommandArgs(rest, {
          options: { "grace-seconds": { type: "string" } },
          positionals: { min: 1, max: 1, names: "<tenantId>" },
        });
        const id = String(positionals[0]);
        const grace = intFlag(values["grace-seconds"], "--grace-seconds", 0, 2_592_000);
        const out = await services.tenants.regenerateKey(id, grace);
        await cliAudit("tenant.key.regenerate", id, grace ? { graceSeconds: grace } : null);
        console.log(JSON.stringify(out, null, 2));
        return;
      }
      case "recalculate-usage": {
        const id = parseCommandArgs(rest, { positionals: { max: 1, names: "[tenantId]" } }).positionals[0];
        const drift = await services.tenants.recalculateUsage(id);
        await cliAudit("tenant.usage.recalculate", id ?? null, null);
        console.log(JSON.stringify({ fixed: drift.tenants.length + drift.workspaces.length, ...drift }, null, 2));
        return;
      }
      case "rotate-master-key": {
        const { values } = parseCommandArgs(rest, {
          options: { "batch-size": { type: "string" }, "pause-ms": { type: "string" } },
        });
        const ok = await rotateMasterKey(rt, services.audit, {
          batchSize: Math.max(1, intFlag(values["batch-size"], "--batch-size", 500, 100_000)),
          pauseMs: intFlag(values["pause-ms"], "--pause-ms", 0, 60_000),
        });
        if (!ok) process.exitCode = 1;
        return;
      }
      default:
        throw new UsageError(`unknown admin command: ${sub ?? "(none)"}`);
    }
  });
}

async function main(argv: string[]) {
  const [cmd = "serve", ...rest] = argv;
  if (cmd === "--help" || cmd === "-h" || cmd === "help") return console.log(HELP);
  if (cmd === "version" || cmd === "--version") return console.log(VERSION);
  if (!COMMANDS.has(cmd)) throw new UsageError(`unknown command: ${cmd}`);
  // Takes its databases from its flags, not from the configuration.
  if (cmd === "db") return db(rest);
  // Commands without flags of their own refuse any (an unknown flag is a usage error).
  if (cmd !== "admin" && !FLAGGED.has(cmd)) parseCommandArgs(rest, {});
  const config = await loadConfig();
  switch (cmd) {
    case "serve":
      return serve(config);
    case "migrate": {
      const { values } = parseCommandArgs(rest, { options: { "dry-run": { type: "boolean" } } });
      if (values["dry-run"]) return migrateDryRun(config);
      return withRuntime(config, (rt) =>
        console.log(
          rt.migrationsApplied.length ? `applied: ${rt.migrationsApplied.join(", ")}` : "database is up to date",
        ),
      );
    }
    case "admin":
      return admin(config, rest);
    case "backup": {
      const { values, positionals } = parseCommandArgs(rest, {
        options: { "include-master-key": { type: "boolean" } },
        positionals: { min: 1, max: 1, names: "<dir>" },
      });
      if (config.postgresUrl)
        throw new Error(
          "backup copies the SQLite database and the local objects; with DATABASE_URL=postgres://… back up " +
            "PostgreSQL with pg_dump and the objects with your store's tools (README, Operations)",
        );
      return withRuntime(config, async (rt) => {
        const manifest = await backup(rt, createServices(rt).audit, {
          dir: String(positionals[0]),
          includeMasterKey: values["include-master-key"] === true,
        });
        if (manifest.counts.missingObjects > 0) process.exitCode = 1;
      });
    }
    case "restore": {
      const { values, positionals } = parseCommandArgs(rest, {
        options: {
          "data-dir": { type: "string" },
          force: { type: "boolean" },
          "include-master-key": { type: "boolean" },
        },
        positionals: { min: 1, max: 1, names: "<dir>" },
      });
      if (typeof values["data-dir"] !== "string") throw new UsageError("restore needs --data-dir <dir>");
      await restore({
        from: String(positionals[0]),
        dataDir: values["data-dir"],
        force: values.force === true,
        includeMasterKey: values["include-master-key"] === true,
      });
      return;
    }
    case "objects":
      return objects(config, rest);
    case "healthcheck": {
      // For container HEALTHCHECKs (the image has no curl): GET /health on the local port.
      const res = await fetch(`http://127.0.0.1:${config.PORT}/health`).catch(() => null);
      return process.exit(res?.ok ? 0 : 1);
    }
    case "doctor": {
      const { values } = parseCommandArgs(rest, { options: { fix: { type: "boolean" } } });
      const ok = await runDoctor(config, { fix: values.fix === true });
      return process.exit(ok ? 0 : 1);
    }
  }
}

const COMMANDS = new Set(["serve", "migrate", "admin", "healthcheck", "doctor", "backup", "restore", "objects", "db"]);
/** Commands that parse their own flags. */
const FLAGGED = new Set<string>(["backup", "restore", "doctor", "migrate", "objects"]);

/** `objects copy`: see cli/objects-copy.ts; the URL forms are in cli/backend-url.ts. */
async function objects(config: Config, args: string[]) {
  const [sub, ...rest] = args;
  if (sub !== "copy") throw new UsageError(`unknown objects command: ${sub ?? "(none)"}`);
  const { values } = parseCommandArgs(rest, {
    options: { to: { type: "string" }, from: { type: "string" }, concurrency: { type: "string" } },
  });
  if (typeof values.to !== "string") throw new UsageError("objects copy needs --to <url>");
  const to = parseBackendUrl(values.to, "--to");
  const from = typeof values.from === "string" ? parseBackendUrl(values.from, "--from") : configuredLocation(config);
  if (sameLocation(from, to)) throw new UsageError(`--to names the source itself (${describeLocation(from)})`);
  const concurrency = Math.max(1, intFlag(values.concurrency, "--concurrency", 4, 64));
  const open = async (loc: typeof to, role: "source" | "target") => {
    try {
      const backend = await openLocation(loc, config, role);
      await backend.ping();
      return backend;
    } catch (err) {
      throw new Error(`${role} ${describeLocation(loc)}: ${(err as Error).message}`);
    }
  };
  const source = await open(from, "source");
  const target = await open(to, "target");
  console.log(`copying objects from ${describeLocation(from)} to ${describeLocation(to)}, ${concurrency} at a time`);
  // Ctrl-C (or SIGTERM) aborts the puts in flight, which leave nothing behind, and prints the summary.
  const stop = new AbortController();
  const onSignal = () => stop.abort();
  process.once("SIGINT", onSignal);
  process.once("SIGTERM", onSignal);
  const summary = await copyObjects({ from: source, to: target, concurrency, signal: stop.signal });
  for (const line of summaryLines(summary)) console.log(line);
  // Exit now: the S3 client's idle keep-alive sockets would hold the process open for a while.
  process.exit(summary.failed || summary.interrupted ? 1 : 0);
}

/** `db copy --from <url> --to <url> [--force]` (src/cli/db-copy.ts). */
async function db(args: string[]) {
  const [sub, ...rest] = args;
  if (sub !== "copy") throw new UsageError(`unknown db command: ${sub ?? "(none)"}`);
  const { values } = parseCommandArgs(rest, {
    options: { from: { type: "string" }, to: { type: "string" }, force: { type: "boolean" } },
  });
  if (typeof values.from !== "string" || typeof values.to !== "string")
    throw new UsageError("db copy needs --from <url> and --to <url>");
  await dbCopy({ from: values.from, to: values.to, force: values.force === true });
}

/** `migrate --dry-run`: lists pending migrations; opens the database read-only, changes nothing. */
async function migrateDryRun(config: Config) {
  if (config.postgresUrl) {
    const pg = openPostgres(config.postgresUrl, { max: 1 });
    try {
      await assertKnownPostgresSchema(pg);
      const pending = await pendingPostgresMigrations(pg);
      console.log(pending.length ? `pending: ${pending.join(", ")}` : "database is up to date");
    } finally {
      await pg.$client.close();
    }
    return;
  }
  if (config.databasePath !== ":memory:" && !existsSync(config.databasePath)) {
    console.log(
      `no database at ${config.databasePath} yet; would apply: ${pendingMigrations(new Database(":memory:")).join(", ")}`,
    );
    return;
  }
  const sqlite = new Database(config.databasePath, { readonly: true });
  try {
    assertKnownSchema(sqlite, VERSION);
    const pending = pendingMigrations(sqlite);
    console.log(pending.length ? `pending: ${pending.join(", ")}` : "database is up to date");
  } finally {
    sqlite.close();
  }
}

main(process.argv.slice(2)).catch((err) => {
  if (err instanceof UsageError) {
    console.error(`${err.message}\n\n${HELP}`);
    process.exit(2);
  }
  if (
    err instanceof ConfigError ||
    err instanceof RestoreError ||
    err instanceof DbCopyError ||
    err instanceof DeploymentSecretsError
  )
    console.error(err.message);
  else if (err instanceof AppError) console.error(`error: ${err.message}`);
  else console.error(`fatal: ${err instanceof Error ? err.message : String(err)}`);
  process.exit(1);
});
