import { and, eq, gt, lte } from "drizzle-orm";
import type { Db } from "../client";
import { consoleSessions } from "../schema";

/** Admin console sessions, keyed by the SHA-256 of the session id the browser holds. */
export function createConsoleSessionsRepo(db: Db) {
  return {
    insert(idHash: string, createdAt: number, expiresAt: number): void {
      db.insert(consoleSessions).values({ idHash, createdAt, expiresAt }).run();
    },
    /** The session's expiry if it exists and has not expired at `now`, else null. */
    activeExpiry(idHash: string, now: number): number | null {
      const row = db
        .select({ expiresAt: consoleSessions.expiresAt })
        .from(consoleSessions)
        .where(and(eq(consoleSessions.idHash, idHash), gt(consoleSessions.expiresAt, now)))
        .get();
      return row?.expiresAt ?? null;
    },
    delete(idHash: string): boolean {
      return db.delete(consoleSessions).where(eq(consoleSessions.idHash, idHash)).returning().all().length > 0;
    },
    deleteExpired(now: number): number {
      return db.delete(consoleSessions).where(lte(consoleSessions.expiresAt, now)).returning().all().length;
    },
  };
}
