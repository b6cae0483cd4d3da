#!/usr/bin/env bun
import { createServices } from "./app";
import { admin } from "./cli/admin-commands";
import { parseCommandArgs, UsageError } from "./cli/args";
import { backup } from "./cli/backup";
import { DbCopyError, dbCopy } from "./cli/db-copy";
import { migrateDryRun } from "./cli/migrate-dry-run";
import { objects } from "./cli/objects-command";
import { RestoreError, restore } from "./cli/restore";
import { withRuntime } from "./cli/with-runtime";
import { ConfigError, loadConfig } from "./config/load";
import { runDoctor } from "./doctor";
import { DeploymentSecretsError } from "./domain/ops/deployment-secrets";
import { AppError } from "./domain/shared/errors";
import { serve } from "./serve";
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
