import { MICRO, type RateLimitsRepo } from "../../db/repos/rate-limits.repo";
import type { Logger } from "../../logger";
import { type BucketRule, type BucketState, bucketState, type RateLimitStore } from "./rate-limit-store";

/** How often one instance deletes the buckets that have refilled (they are the same as none). */
const SWEEP_EVERY_MS = 60_000;

const stored = (rule: BucketRule) => ({
  capacity: Math.round(rule.burst * MICRO),
  perMs: (rule.ratePerSecond * MICRO) / 1000,
});

/**
 * Token buckets in the database, shared by every instance of a PostgreSQL deployment, so a
 * client's budget is the same whichever instance its requests land on (docs/security.md, "Rate
 * limits"). A take is one round trip: one atomic upsert (db/repos/rate-limits.repo.ts). Buckets
 * that have refilled are deleted lazily, by whichever instance's take comes first once a minute
 * has passed since its last sweep, without holding up that request.
 */
export class SharedRateLimitStore implements RateLimitStore {
  private sweptAt = 0;

  constructor(
    private readonly repo: RateLimitsRepo,
    private readonly logger: Logger,
  ) {}

  async take(key: string, rule: BucketRule, now: number, cost = 1): Promise<BucketState> {
    this.maybeSweep(now);
    const r = await this.repo.take(key, stored(rule), now, Math.round(cost * MICRO));
    const left = r.tokens / MICRO;
    return bucketState(rule, r.taken ? left + cost : left, left, cost);
  }

  async peek(key: string, rule: BucketRule, now: number, cost = 1): Promise<BucketState> {
    const b = await this.repo.get(key);
    const tokens = b
      ? Math.min(rule.burst, b.tokens / MICRO + (Math.max(0, now - b.updatedAt) / 1000) * rule.ratePerSecond)
      : rule.burst;
    return bucketState(rule, tokens, tokens, cost);
  }

  private maybeSweep(now: number) {
    if (now - this.sweptAt < SWEEP_EVERY_MS) return;
    this.sweptAt = now;
    this.repo.sweep(now).catch((err) => this.logger.warn("rate limits: sweep failed", { err: String(err) }));
  }
}
