/**
 * A token bucket: `burst` tokens at most, refilled at `rate` tokens per second. Refill is
 * computed from the clock when a token is asked for, so the bucket holds no timer.
 */

/**
 * What the erroring and delaying middlewares need from a limiter (go-kit's Allower and
 * Waiter in one). Bring your own by implementing it.
 */
export interface Limiter {
  /** Take a token if one is there and return 0; otherwise take nothing and return the ms until one will be. */
  take(): number;
  /**
   * Reserve the next token, which may not exist yet. Returns the ms to wait before using
   * it (0: now), or -1, reserving nothing, when that wait would be longer than `maxWait`.
   */
  reserve(maxWait: number): number;
  /** Give back a reserved token whose call will not go ahead. */
  cancel(): void;
}

export interface TokenBucketOptions {
  /** Tokens added per second. */
  rate: number;
  /** Capacity: the most calls that may go at once after a quiet period. */
  burst: number;
  /** The clock, in ms. Default Date.now; tests inject one. */
  now?: () => number;
}

export interface TokenBucket extends Limiter {
  /** Tokens available now (negative while reservations are waiting for theirs). */
  readonly tokens: number;
}

// Refill arithmetic is floating point: after waiting the computed ms a level of
// 0.9999999999999999 must count as the whole token it is.
const WHOLE = 1 - 1e-9;

class Bucket implements TokenBucket {
  private level: number;
  private last: number;
  private readonly perMs: number;

  constructor(
    private readonly burst: number,
    rate: number,
    private readonly now: () => number,
  ) {
    this.perMs = rate / 1000;
    this.level = burst;
    this.last = now();
  }

  get tokens(): number {
    this.refill();
    return this.level;
  }

  take(): number {
    this.refill();
    if (this.level >= WHOLE) {
      this.level -= 1;
      return 0;
    }
    return this.waitFor();
  }

  reserve(maxWait: number): number {
    this.refill();
    const wait = this.level >= WHOLE ? 0 : this.waitFor();
    if (wait > maxWait) return -1;
    this.level -= 1;
    return wait;
  }

  cancel(): void {
    this.level = Math.min(this.burst, this.level + 1);
  }

  /** Ms until the level reaches 1. Never 0 here, so a caller always waits for a whole token. */
  private waitFor(): number {
    return Math.max(1, Math.ceil((1 - this.level) / this.perMs));
  }

  // A clock that steps back adds nothing (and takes nothing away).
  private refill(): void {
    const t = this.now();
    const dt = t - this.last;
    if (dt <= 0) return;
    this.last = t;
    if (this.level < this.burst) this.level = Math.min(this.burst, this.level + dt * this.perMs);
  }
}

/** A token bucket that starts full. */
export function tokenBucket(options: TokenBucketOptions): TokenBucket {
  if (typeof options !== 'object' || options === null) {
    throw new TypeError('tokenBucket: options { rate, burst } are required');
  }
  const { rate, burst, now = Date.now } = options;
  if (typeof rate !== 'number' || !Number.isFinite(rate) || rate <= 0) {
    throw new RangeError(
      `tokenBucket: rate must be a positive number of tokens per second, got ${String(rate)}`,
    );
  }
  if (typeof burst !== 'number' || !Number.isSafeInteger(burst) || burst < 1) {
    throw new RangeError(`tokenBucket: burst must be a positive integer, got ${String(burst)}`);
  }
  if (typeof now !== 'function') throw new TypeError('tokenBucket: now must be a function');
  return new Bucket(burst, rate, now);
}
