import { MICRO, type RateLimitsRepo } from "../../db/repos/rate-limits.repo";
import type { Logger } from "../../logger";
import { type BucketRule, type BucketState, bucketState, type RateLimitStore } from "./rate-limit-store";

/** How often one instance deletes the buckets that have refilled (they are the same as none). */
const SWEEP_EVERY_MS = 60_000;
/** How long a peek that found at least half a bucket is answered from memory. */
const PEEK_CACHE_MS = 1_000;
const PEEK_CACHE_MAX = 10_000;

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
 *
 * `peek` is what every request pays when only the failed-authentication budget is on (the
 * default): a read of the address's bucket. A bucket found at least half full is remembered for
 * PEEK_CACHE_MS, so an address with no failures costs one read a second, not one per request.
 * The price: failures on other instances are seen up to a second late, and only while more than
 * half the budget is left; below half, and after any take here, every peek reads the row.
 */
export class SharedRateLimitStore implements RateLimitStore {
  private sweptAt = 0;
  private readonly roomy = new Map<string, number>();

  constructor(
    private readonly repo: RateLimitsRepo,
    private readonly logger: Logger,
  ) {}

  async take(key: string, rule: BucketRule, now: number, cost = 1): Promise<BucketState> {
    this.maybeSweep(now);
    this.roomy.delete(key);
    const r = await this.repo.take(key, stored(rule), now, Math.round(cost * MICRO));
    const left = r.tokens / MICRO;
    return bucketState(rule, r.taken ? left + cost : left, left, cost);
  }

  async peek(key: string, rule: BucketRule, now: number, cost = 1): Promise<BucketState> {
    const until = this.roomy.get(key);
    if (until !== undefined && now < until && cost <= rule.burst / 2)
      return bucketState(rule, rule.burst / 2, rule.burst / 2, cost);
    const b = await this.repo.get(key);
    const tokens = b
      ? Math.min(rule.burst, b.tokens / MICRO + (Math.max(0, now - b.updatedAt) / 1000) * rule.ratePerSecond)
      : rule.burst;
    if (tokens >= rule.burst / 2) this.remember(key, now + PEEK_CACHE_MS, now);
    else this.roomy.delete(key);
    return bucketState(rule, tokens, tokens, cost);
  }

  private remember(key: string, until: number, now: number) {
    if (this.roomy.size >= PEEK_CACHE_MAX)
      for (const [k, u] of this.roomy) if (u <= now || this.roomy.size >= PEEK_CACHE_MAX) this.roomy.delete(k);
    this.roomy.set(key, until);
  }

  private maybeSweep(now: number) {
    if (now - this.sweptAt < SWEEP_EVERY_MS) return;
    this.sweptAt = now;
    this.repo.sweep(now).catch((err) => this.logger.warn("rate limits: sweep failed", { err: String(err) }));
  }
}
