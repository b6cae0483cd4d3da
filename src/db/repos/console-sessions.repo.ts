import { and, eq, gt, lte, sql } from "drizzle-orm";
import type { Connection } from "../connection";

/** Admin console sessions, keyed by the SHA-256 of the session id the browser holds. */
export function createConsoleSessionsRepo(conn: Connection) {
  const { consoleSessions } = conn.tables;
  const db = () => conn.exec();
  return {
    async insert(idHash: string, createdAt: number, expiresAt: number): Promise<void> {
      await db().insert(consoleSessions).values({ idHash, createdAt, expiresAt });
    },
    /** The session's expiry if it exists and has not expired at `now`, else null. */
    async activeExpiry(idHash: string, now: number): Promise<number | null> {
      const [row] = await db()
        .select({ expiresAt: consoleSessions.expiresAt })
        .from(consoleSessions)
        .where(and(eq(consoleSessions.idHash, idHash), gt(consoleSessions.expiresAt, now)))
        .limit(1);
      return row?.expiresAt ?? null;
    },
    async delete(idHash: string): Promise<boolean> {
      const rows = await db()
        .delete(consoleSessions)
        .where(eq(consoleSessions.idHash, idHash))
        .returning({ one: sql`1` });
      return rows.length > 0;
    },
    async deleteExpired(now: number): Promise<number> {
      const rows = await db()
        .delete(consoleSessions)
        .where(lte(consoleSessions.expiresAt, now))
        .returning({ one: sql`1` });
      return rows.length;
    },
  };
}
