import { Elysia } from "elysia";
import type { RateLimits } from "../../domain/limits/rate-limits";
import { rateLimitAddress } from "../client-address";
import { sessionIdOf } from "../console-session";
import { pathOf } from "../request-path";
import { bearerKey } from "./auth";

// Liveness and readiness probes come from the orchestrator, never count and are never refused.
const EXEMPT = new Set(["/health", "/ready"]);

/**
 * Rate limits before routing, so a refused request costs nothing (no key lookup, no body):
 * an address out of failed-authentication budget → 429; else the presented key's bucket is
 * spent and its state sent as RateLimit-Limit / RateLimit-Remaining / RateLimit-Reset (seconds
 * until the bucket is full). Failures are counted where 401s are produced (error-handler.ts).
 */
export function rateLimitGate(limits: RateLimits, trustProxy: boolean) {
  return new Elysia({ name: "rate-limit" }).onRequest(async ({ request, set }) => {
    const path = pathOf(request.url);
    if (EXEMPT.has(path)) return;
    await limits.checkAddress(rateLimitAddress(request, trustProxy));
    // The admin console's session cookie spends a bucket of its own, as a key would.
    const key = bearerKey(request) ?? sessionIdOf(request);
    const s = key ? await limits.takeForKey(key) : null;
    if (s) {
      set.headers["ratelimit-limit"] = String(s.limit);
      set.headers["ratelimit-remaining"] = String(s.remaining);
      set.headers["ratelimit-reset"] = String(s.resetSeconds);
    }
  });
}
