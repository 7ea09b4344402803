// Token buckets per client address, bounded in memory: the oldest buckets are dropped first,
// which at worst gives a forgotten client a fresh allowance.
import { OmniError } from '../core/errors.js';

export interface RateLimit {
  readonly perMinute: number;
  readonly burst: number;
}

interface Bucket {
  tokens: number;
  updatedMs: number;
}

const MAX_BUCKETS = 100_000;

export class RateLimiter {
  private readonly buckets = new Map<string, Bucket>();

  constructor(private readonly limit: RateLimit, private readonly now: () => number = Date.now) {}

  /** Takes one token for `key` or fails with `rate_limited` and the seconds until the next one. */
  take(key: string): void {
    const now = this.now();
    const ratePerMs = this.limit.perMinute / 60_000;
    let b = this.buckets.get(key);
    if (b) {
      b.tokens = Math.min(this.limit.burst, b.tokens + (now - b.updatedMs) * ratePerMs);
      b.updatedMs = now;
      // Re-insert so Map order is least-recently-used first.
      this.buckets.delete(key);
    } else {
      b = { tokens: this.limit.burst, updatedMs: now };
      if (this.buckets.size >= MAX_BUCKETS) this.buckets.delete(this.buckets.keys().next().value!);
    }
    this.buckets.set(key, b);
    if (b.tokens < 1) {
      throw new OmniError('rate_limited', `Too many registrations from ${key}; at most ${this.limit.perMinute} a minute`, {
        retryAfterSeconds: Math.max(1, Math.ceil((1 - b.tokens) / ratePerMs / 1000)),
      });
    }
    b.tokens -= 1;
  }
}
