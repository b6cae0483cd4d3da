import type { Database } from "bun:sqlite";
import type { Config } from "./config/schema";
import { createStorageBackend, ensureAdminKey, loadMasterKey, openRepos } from "./bootstrap";
import { systemClock, type Clock } from "./domain/clock";
import type { Logger } from "./logger";
import { EncryptedObjects } from "./storage/encrypted-objects";
import type { AppDeps } from "./app";

export interface Runtime extends AppDeps {
  /** The admin key generated on this (first) run, to be printed once; null otherwise. */
  generatedAdminKey: string | null;
  migrationsApplied: string[];
  sqlite: Database;
  close(): void;
}

/**
 * First-run bootstrap and wiring shared by `serve`, the CLI commands and tests: data dir,
 * database + migrations, master key, admin key, storage backend.
 */
export async function openRuntime(config: Config, logger: Logger, clock: Clock = systemClock): Promise<Runtime> {
  const { db, repos, applied } = openRepos(config);
  try {
    const masterKey = await loadMasterKey(config);
    const generatedAdminKey = ensureAdminKey(config, repos);
    const objects = new EncryptedObjects(await createStorageBackend(config), masterKey);
    return { config, repos, objects, masterKey, clock, logger, generatedAdminKey, migrationsApplied: applied, sqlite: db.$client, close: () => db.$client.close() };
  } catch (err) {
    db.$client.close();
    throw err;
  }
}
