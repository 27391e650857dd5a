/** A token bucket per client address: `rate` requests a second on average, bursts up to `burst`. */
export class RateLimiter {
  readonly #buckets = new Map<string, { tokens: number; at: number }>();
  constructor(
    readonly rate: number,
    readonly burst: number,
  ) {}

  /** 0 when the request may go, else the seconds to wait before retrying. */
  take(client: string, now = Date.now()): number {
    let b = this.#buckets.get(client);
    if (!b) {
      // Bounded memory: forget everyone when the table grows (a new bucket starts full, so this only forgives).
      if (this.#buckets.size > 100_000) this.#buckets.clear();
      b = { tokens: this.burst, at: now };
      this.#buckets.set(client, b);
    }
    b.tokens = Math.min(this.burst, b.tokens + ((now - b.at) / 1000) * this.rate);
    b.at = now;
    if (b.tokens >= 1) {
      b.tokens -= 1;
      return 0;
    }
    return Math.ceil((1 - b.tokens) / this.rate);
  }
}
