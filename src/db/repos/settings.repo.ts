import { eq, sql } from "drizzle-orm";
import type { Db } from "../client";
import { settings } from "../schema";

/** Settings key under which the admin key's SHA-256 is kept. */
export const ADMIN_KEY_SETTING = "admin_api_key_hash";

/** Small key/value store for instance-wide state (the admin key hash). */
export function createSettingsRepo(db: Db) {
  const getQ = db
    .select()
    .from(settings)
    .where(eq(settings.key, sql.placeholder("key")))
    .prepare();
  return {
    get(key: string): string | null {
      return getQ.get({ key })?.value ?? null;
    },
    set(key: string, value: string): void {
      db.insert(settings).values({ key, value }).onConflictDoUpdate({ target: settings.key, set: { value } }).run();
    },
  };
}
export type SettingsRepo = ReturnType<typeof createSettingsRepo>;
