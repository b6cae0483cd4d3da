import { Database } from "bun:sqlite";
import { existsSync } from "node:fs";
import type { Config } from "../config/schema";
import { assertKnownSchema, pendingMigrations } from "../db/migrate";
import { openPostgres } from "../db/pg/connect";
import { assertKnownPostgresSchema, pendingPostgresMigrations } from "../db/pg/migrate";
import { VERSION } from "../version";

/** `migrate --dry-run`: lists pending migrations; opens the database read-only, changes nothing. */
export async function migrateDryRun(config: Config) {
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
