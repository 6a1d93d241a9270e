/**
 * Token buckets: each key may spend `count` commands at once, refilled at `count / seconds` per
 * second. A refused attempt spends nothing. Full buckets are forgotten, so a flood of new keys
 * (nick changes) costs memory only while they are actually limited.
 */
export interface Limit {
  count: number;
  seconds: number;
}

interface Bucket {
  tokens: number;
  at: number;
}

export type Take = { ok: true } | { ok: false; retryAfterSeconds: number };

export class RateLimiter {
  private readonly buckets = new Map<string, Bucket>();
  private lastPrune = 0;

  constructor(
    readonly limit: Limit,
    private readonly now: () => number = Date.now,
  ) {}

  /** Would one more command for `key` fit? Does not spend. */
  check(key: string): Take {
    const tokens = this.tokens(key, this.now());
    if (tokens >= 1) return { ok: true };
    const perSecond = this.limit.count / this.limit.seconds;
    return { ok: false, retryAfterSeconds: Math.max(1, Math.ceil((1 - tokens) / perSecond)) };
  }

  /** Spends one token for `key` (call only after `check` said ok for every limit involved). */
  spend(key: string): void {
    const now = this.now();
    this.buckets.set(key, { tokens: this.tokens(key, now) - 1, at: now });
    this.prune(now);
  }

  get size(): number {
    return this.buckets.size;
  }

  private tokens(key: string, now: number): number {
    const bucket = this.buckets.get(key);
    if (!bucket) return this.limit.count;
    const refill = (Math.max(0, now - bucket.at) / 1000) * (this.limit.count / this.limit.seconds);
    return Math.min(this.limit.count, bucket.tokens + refill);
  }

  private prune(now: number): void {
    // At most one sweep per window: amortized O(1) per command, whatever the number of keys.
    if (now - this.lastPrune < this.limit.seconds * 1000) return;
    this.lastPrune = now;
    for (const [key] of this.buckets) if (this.tokens(key, now) >= this.limit.count) this.buckets.delete(key);
  }
}
