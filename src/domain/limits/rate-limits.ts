import type { Clock } from "../shared/clock";
import { AppError } from "../shared/errors";
import { hashKey } from "../shared/secrets";
import type { BucketRule, BucketState, RateLimitStore } from "./rate-limit-store";

export interface RateLimitSettings {
  /** Per API key (tenant, user or admin key); null = off. */
  perKey: BucketRule | null;
  /** Failed authentications per client address; null = off. */
  authFailures: BucketRule | null;
}

/** Builds the rules from config values (0 = off; a burst of 0 = twice the rate, at least 1). */
export function rateLimitSettings(c: {
  RATE_LIMIT_PER_SECOND: number;
  RATE_LIMIT_BURST: number;
  AUTH_FAILURE_LIMIT_PER_MINUTE: number;
  AUTH_FAILURE_BURST: number;
}): RateLimitSettings {
  return {
    perKey:
      c.RATE_LIMIT_PER_SECOND > 0
        ? {
            ratePerSecond: c.RATE_LIMIT_PER_SECOND,
            burst: c.RATE_LIMIT_BURST || Math.max(1, Math.ceil(2 * c.RATE_LIMIT_PER_SECOND)),
          }
        : null,
    authFailures:
      c.AUTH_FAILURE_LIMIT_PER_MINUTE > 0
        ? { ratePerSecond: c.AUTH_FAILURE_LIMIT_PER_MINUTE / 60, burst: Math.max(1, c.AUTH_FAILURE_BURST) }
        : null,
  };
}

const rateLimited = (scope: "key" | "address", s: BucketState) =>
  new AppError(
    "RATE_LIMITED",
    scope === "key" ? "Too many requests for this API key" : "Too many failed authentications from this address",
    {
      scope,
      retryAfterSeconds: s.retryAfterSeconds,
      limit: s.limit,
      remaining: s.remaining,
      resetSeconds: s.resetSeconds,
    },
  );

/**
 * Request rate limits (docs/security.md, "Rate limits"): a token bucket per API key, and a
 * stricter one per client address that only failed authentications spend. An address whose
 * failure bucket is empty is refused (429) before its key is even looked at, so keys cannot be
 * guessed at speed, while one client's failures never cost anyone else anything.
 */
export function createRateLimits(deps: { store: RateLimitStore; clock: Clock; settings: RateLimitSettings }) {
  const { store, clock, settings } = deps;
  return {
    /** Throws RATE_LIMITED while `address` has no failed-authentication budget left. */
    async checkAddress(address: string | null): Promise<void> {
      if (!settings.authFailures || !address) return;
      const s = await store.peek(`fail:${address}`, settings.authFailures, clock.now());
      if (!s.ok) throw rateLimited("address", s);
    },
    /** Spends one failed-authentication token of `address`. */
    async failed(address: string | null): Promise<void> {
      if (!settings.authFailures || !address) return;
      await store.take(`fail:${address}`, settings.authFailures, clock.now());
    },
    /**
     * Spends one token of the presented key's bucket (keyed by the key's hash; whether the key is
     * valid is checked later, and an invalid one counts as a failure there). Returns the bucket
     * state for RateLimit-* headers, null when per-key limits are off; throws RATE_LIMITED.
     */
    async takeForKey(apiKey: string): Promise<BucketState | null> {
      if (!settings.perKey) return null;
      const s = await store.take(`key:${hashKey(apiKey)}`, settings.perKey, clock.now());
      if (!s.ok) throw rateLimited("key", s);
      return s;
    },
  };
}
export type RateLimits = ReturnType<typeof createRateLimits>;
