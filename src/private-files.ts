import { chmodSync, closeSync, existsSync, mkdirSync, openSync } from "node:fs";

/**
 * The data directory holds the database (tenant metadata, sealed webhook secrets, key hashes),
 * the master key and the objects: nothing in it is for other local users. Modes are set with
 * chmod after creating, so they hold whatever the process umask is.
 */
export const PRIVATE_DIR_MODE = 0o700;
export const PRIVATE_FILE_MODE = 0o600;

/** Creates `dir` (and missing parents) 0700. An existing directory is left as the operator made it. */
export function ensurePrivateDir(dir: string): void {
  if (existsSync(dir)) return;
  mkdirSync(dir, { recursive: true, mode: PRIVATE_DIR_MODE });
  chmodSync(dir, PRIVATE_DIR_MODE);
}

/**
 * Makes the SQLite file `path` and its companions (-wal, -shm, -journal) 0600, creating the
 * main file empty first if needed: SQLite creates the companions with the main file's mode, so
 * the main file must be private before SQLite opens it.
 */
export function privateDatabaseFiles(path: string): void {
  if (!existsSync(path)) closeSync(openSync(path, "a", PRIVATE_FILE_MODE));
  for (const f of [path, `${path}-wal`, `${path}-shm`, `${path}-journal`]) {
    try {
      if (existsSync(f)) chmodSync(f, PRIVATE_FILE_MODE);
    } catch {
      // Not ours to change (another user's file): left as it is rather than failing start-up.
    }
  }
}
