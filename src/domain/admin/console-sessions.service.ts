import type { Repos } from "../../db/repos";
import type { Clock } from "../shared/clock";
import { hashKey, randomSecret } from "../shared/secrets";

/** How long a console sign-in lasts; signing in again starts a new session. */
export const CONSOLE_SESSION_TTL_MS = 12 * 60 * 60 * 1000;

/**
 * Sessions of the admin web console. The browser holds a random 256-bit id in an HttpOnly cookie;
 * the database holds only its SHA-256, so a copy of the database cannot be replayed as a cookie.
 * A session grants exactly what the admin key grants; the HTTP layer adds the CSRF check.
 */
export function createConsoleSessionsService(deps: { repos: Repos; clock: Clock; ttlMs?: number }) {
  const { repos, clock } = deps;
  const ttl = deps.ttlMs ?? CONSOLE_SESSION_TTL_MS;
  return {
    /** Opens a session; the returned id is shown to the browser once (as the cookie) and never stored. */
    async open(): Promise<{ id: string; expiresAt: number; maxAgeSeconds: number }> {
      const now = clock.now();
      const id = randomSecret(32);
      await repos.tx(async () => {
        await repos.consoleSessions.deleteExpired(now);
        await repos.consoleSessions.insert(hashKey(id), now, now + ttl);
      });
      return { id, expiresAt: now + ttl, maxAgeSeconds: Math.floor(ttl / 1000) };
    },
    /** The expiry of a live session with this id, or null (unknown, expired or signed out). */
    async check(id: string): Promise<number | null> {
      if (id.length > 128) return null;
      return await repos.consoleSessions.activeExpiry(hashKey(id), clock.now());
    },
    /** Signs the session out; its cookie is refused from now on. */
    async close(id: string): Promise<void> {
      await repos.consoleSessions.delete(hashKey(id));
    },
  };
}
export type ConsoleSessionsService = ReturnType<typeof createConsoleSessionsService>;
