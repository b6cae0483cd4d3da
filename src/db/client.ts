import { Database } from "bun:sqlite";
import { dirname } from "node:path";
import { type BunSQLiteDatabase, drizzle } from "drizzle-orm/bun-sqlite";
import { ensurePrivateDir, privateDatabaseFiles } from "../private-files";
import * as schema from "./schema";

export type Db = BunSQLiteDatabase<typeof schema> & { $client: Database };

/**
 * Opens the metadata database with the settings a concurrent server needs: WAL (readers never
 * block the writer), foreign keys on, and a busy timeout so a second process (the CLI while
 * the server runs) waits instead of failing.
 */
export function openDatabase(path: string): Db {
  if (path !== ":memory:") {
    ensurePrivateDir(dirname(path));
    privateDatabaseFiles(path);
  }
  const sqlite = new Database(path, { create: true, strict: true });
  sqlite.exec("PRAGMA journal_mode = WAL");
  // -wal/-shm now exist; ones left by an older version may still be world-readable.
  if (path !== ":memory:") privateDatabaseFiles(path);
  sqlite.exec("PRAGMA synchronous = NORMAL");
  sqlite.exec("PRAGMA foreign_keys = ON");
  sqlite.exec("PRAGMA busy_timeout = 5000");
  return drizzle({ client: sqlite, schema }) as Db;
}
