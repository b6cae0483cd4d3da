import { resolve } from "node:path";
import type { Config } from "./config/schema";
import type { Connection } from "./db/connection";
import { migrate } from "./db/migrate";
import { migratePostgres } from "./db/pg/migrate";
import { openPostgresConnection } from "./db/pg.connection";
import { createRepos, type Repos } from "./db/repos";
import { ADMIN_KEY_SETTING } from "./db/repos/settings.repo";
import { openSqlite } from "./db/sqlite.connection";
import { ADMIN_KEY_PREFIX, generateApiKey, hashKey } from "./domain/shared/secrets";
import { ensurePrivateDir } from "./private-files";
import type { StorageBackend } from "./storage/backend";
import { MasterKeyring } from "./storage/keyring";
import { LocalBackend } from "./storage/local.backend";

/**
 * Reads `MASTER_KEY`, or `$DATA_DIR/master.key`, or generates that file (0600) on first run, plus
 * the new key of a rotation under way (storage/keyring.ts). Losing the key makes every stored
 * object unreadable: the README says to back it up.
 */
export async function loadMasterKey(config: Config): Promise<MasterKeyring> {
  return MasterKeyring.open(config.DATA_DIR, config.MASTER_KEY, config.MASTER_KEY_PREVIOUS);
}

/**
 * Makes sure an admin key exists. With ADMIN_API_KEY set, its hash is (re)recorded. Without it,
 * the first `serve` (generate: true) creates one and returns it so the caller prints it once;
 * later runs, and other commands, return null.
 */
export async function ensureAdminKey(
  config: Config,
  repos: Repos,
  opts: { generate: boolean },
): Promise<string | null> {
  if (config.ADMIN_API_KEY) {
    await repos.settings.set(ADMIN_KEY_SETTING, hashKey(config.ADMIN_API_KEY));
    return null;
  }
  if (!opts.generate || (await repos.settings.get(ADMIN_KEY_SETTING))) return null;
  const key = generateApiKey(ADMIN_KEY_PREFIX);
  await repos.settings.set(ADMIN_KEY_SETTING, hashKey(key));
  return key;
}

export async function createStorageBackend(config: Config): Promise<StorageBackend> {
  if (config.STORAGE_BACKEND === "s3") {
    // Loaded only when used: the AWS SDK adds ~100 ms to every start-up and CLI command.
    const { createS3BackendFromConfig } = await import("./storage/s3.backend");
    return createS3BackendFromConfig(config);
  }
  const local = new LocalBackend(resolve(config.DATA_DIR, "objects"));
  await local.init();
  return local;
}

/**
 * Opens the metadata database DATABASE_URL names (SQLite by default, or PostgreSQL), applies its
 * dialect's migrations and returns the repositories.
 */
export async function openRepos(config: Config): Promise<{ conn: Connection; repos: Repos; applied: string[] }> {
  if (config.postgresUrl) {
    const pg = openPostgresConnection(config.postgresUrl);
    try {
      const applied = await migratePostgres(pg.pg);
      return { conn: pg, repos: createRepos(pg), applied };
    } catch (err) {
      await pg.close();
      throw err;
    }
  }
  if (config.databasePath !== ":memory:") ensurePrivateDir(config.DATA_DIR);
  const conn = openSqlite(config.databasePath);
  try {
    const applied = conn.sqlite ? migrate(conn.sqlite) : [];
    return { conn, repos: createRepos(conn), applied };
  } catch (err) {
    await conn.close();
    throw err;
  }
}
