/**
 * Token buckets behind a small store interface: in memory for one process (SQLite), in the
 * database for several instances behind one balancer (PostgreSQL: shared-rate-limit-store.ts).
 * One atomic `take` per request, nothing else.
 */
export interface BucketRule {
  /** Tokens added per second. */
  ratePerSecond: number;
  /** Bucket size: the most a client can spend at once after being idle. */
  burst: number;
}

export interface BucketState {
  /** Whether the token(s) were taken. */
  ok: boolean;
  /** The bucket size (RateLimit-Limit). */
  limit: number;
  /** Whole tokens left after this take (RateLimit-Remaining). */
  remaining: number;
  /** Seconds until the bucket is full again (RateLimit-Reset). */
  resetSeconds: number;
  /** When refused: seconds until enough tokens are back (Retry-After). 0 when ok. */
  retryAfterSeconds: number;
}

export interface RateLimitStore {
  /** Refills bucket `key` for the time passed, then takes `cost` tokens if there are that many. */
  take(key: string, rule: BucketRule, now: number, cost?: number): BucketState | Promise<BucketState>;
  /** The bucket's state without taking anything (`ok`: at least `cost` tokens are there). */
  peek(key: string, rule: BucketRule, now: number, cost?: number): BucketState | Promise<BucketState>;
}

/** The state reported for a bucket holding `before` tokens, `left` after the take (or not). */
export function bucketState(rule: BucketRule, before: number, left: number, cost: number): BucketState {
  const ok = before >= cost;
  const perToken = rule.ratePerSecond > 0 ? 1 / rule.ratePerSecond : Number.POSITIVE_INFINITY;
  return {
    ok,
    limit: rule.burst,
    remaining: Math.max(0, Math.floor(left)),
    resetSeconds: Math.ceil((rule.burst - left) * perToken),
    retryAfterSeconds: ok ? 0 : Math.max(1, Math.ceil((cost - before) * perToken)),
  };
}

/**
 * Buckets in a Map. A bucket that has refilled to full is the same as no bucket, so full ones are
 * swept now and then: memory stays proportional to the clients active within one refill period.
 */
export class MemoryRateLimitStore implements RateLimitStore {
  private readonly buckets = new Map<string, { tokens: number; at: number; rule: BucketRule }>();
  private ops = 0;

  take(key: string, rule: BucketRule, now: number, cost = 1): BucketState {
    return this.apply(key, rule, now, cost, true);
  }

  peek(key: string, rule: BucketRule, now: number, cost = 1): BucketState {
    return this.apply(key, rule, now, cost, false);
  }

  /** Number of buckets held (tests check the sweep). */
  get size(): number {
    return this.buckets.size;
  }

  private apply(key: string, rule: BucketRule, now: number, cost: number, spend: boolean): BucketState {
    if (++this.ops % 1024 === 0) this.sweep(now);
    const b = this.buckets.get(key);
    const tokens = b ? Math.min(rule.burst, b.tokens + ((now - b.at) / 1000) * rule.ratePerSecond) : rule.burst;
    const ok = tokens >= cost;
    const left = ok && spend ? tokens - cost : tokens;
    if (spend && ok) this.buckets.set(key, { tokens: left, at: now, rule });
    else if (b) this.buckets.set(key, { tokens, at: now, rule });
    return bucketState(rule, tokens, left, cost);
  }

  /** Drops every bucket that has refilled to full by `now` (public so tests can run it). */
  sweep(now: number) {
    for (const [k, b] of this.buckets)
      if (b.tokens + ((now - b.at) / 1000) * b.rule.ratePerSecond >= b.rule.burst) this.buckets.delete(k);
  }
}
