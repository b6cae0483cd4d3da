import { eq, sql } from "drizzle-orm";
import type { Connection } from "../connection";

/** Settings key under which the admin key's SHA-256 is kept. */
export const ADMIN_KEY_SETTING = "admin_api_key_hash";

/** Small key/value store for instance-wide state (the admin key hash). */
export function createSettingsRepo(conn: Connection) {
  const { settings } = conn.tables;
  const getQ = conn.prepared("settings_get", (db) =>
    db
      .select()
      .from(settings)
      .where(eq(settings.key, sql.placeholder("key"))),
  );
  return {
    async get(key: string): Promise<string | null> {
      return (await getQ({ key }))[0]?.value ?? null;
    },
    async set(key: string, value: string): Promise<void> {
      await conn
        .exec()
        .insert(settings)
        .values({ key, value })
        .onConflictDoUpdate({ target: settings.key, set: { value } });
    },
    /** Writes `value` unless the key is already set (atomic: of racing writers, one wins); returns what is stored. */
    async setIfAbsent(key: string, value: string): Promise<string> {
      await conn.exec().insert(settings).values({ key, value }).onConflictDoNothing({ target: settings.key });
      return (await getQ({ key }))[0]?.value ?? value;
    },
  };
}
export type SettingsRepo = ReturnType<typeof createSettingsRepo>;
