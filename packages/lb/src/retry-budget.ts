export interface RetryBudgetOptions {
  /** How long (ms) a deposit counts; 10 s by default. */
  ttl?: number;
  /** Retries always allowed per second, whatever the traffic (a reserve); 10 by default. */
  minRetriesPerSecond?: number;
  /** Retries allowed per request, on top of the reserve; 0.2 by default (20%). */
  percentCanRetry?: number;
  /** Clock in milliseconds; Date.now by default. */
  now?: () => number;
}

/** Finagle's RetryBudget: deposit once per request, withdraw once per retry. */
export interface RetryBudget {
  deposit(): void;
  /** True, and the retry is paid for, when the budget allows one more retry. */
  tryWithdraw(): boolean;
  /** Retries the budget would allow now. */
  balance(): number;
}

const SLICES = 10;

/**
 * A sum over a sliding window, in the manner of Finagle's WindowedAdder: the window is
 * cut into 10 slices; a slice's total drops out once 9 newer slices have begun, so an
 * addition counts for between 9/10 and 10/10 of the window.
 */
class WindowedAdder {
  private readonly slice: number;
  private readonly past = new Float64Array(SLICES - 1);
  private head = 0;
  private current = 0;
  private started: number;

  constructor(
    range: number,
    private readonly now: () => number,
  ) {
    this.slice = range / SLICES;
    this.started = now();
  }

  private roll(): void {
    const t = this.now();
    const elapsed = t - this.started;
    if (elapsed < this.slice) return;
    // Credit what was added to the slice that just ended, then clear any slices skipped.
    const n = SLICES - 1;
    this.past[this.head] = this.current;
    this.current = 0;
    this.head = (this.head + 1) % n;
    const skipped = Math.min(Math.floor(elapsed / this.slice) - 1, n);
    for (let k = 0; k < skipped; k++) {
      this.past[this.head] = 0;
      this.head = (this.head + 1) % n;
    }
    this.started = t;
  }

  add(x: number): void {
    this.roll();
    this.current += x;
  }

  sum(): number {
    this.roll();
    let s = this.current;
    for (const v of this.past) s += v;
    return s;
  }
}

// Finagle scales tokens by 1000 so that fractional percentages stay integers.
const SCALE = 1000;

class TokenRetryBudget implements RetryBudget {
  private readonly window: WindowedAdder;

  constructor(
    ttl: number,
    now: () => number,
    private readonly depositAmount: number,
    private readonly withdrawalAmount: number,
    private readonly reserve: number,
  ) {
    this.window = new WindowedAdder(ttl, now);
  }

  deposit(): void {
    if (this.depositAmount > 0) this.window.add(this.depositAmount);
  }

  tryWithdraw(): boolean {
    if (this.window.sum() + this.reserve < this.withdrawalAmount) return false;
    // Withdrawals expire too: that is how the reserve refills over ttl.
    this.window.add(-this.withdrawalAmount);
    return true;
  }

  balance(): number {
    return Math.floor((this.window.sum() + this.reserve) / this.withdrawalAmount);
  }
}

const EMPTY: RetryBudget = Object.freeze({
  deposit() {},
  tryWithdraw: () => false,
  balance: () => 0,
});

/**
 * A retry budget with Finagle's semantics, shareable by many retry endpoints so that a
 * failing dependency cannot be retried into the ground: each request deposits
 * `percentCanRetry` of a retry, deposits expire after `ttl`, and a reserve of
 * `ttl * minRetriesPerSecond / 1000` retries (what a fresh budget allows) covers clients
 * with little traffic.
 */
export function retryBudget(options: RetryBudgetOptions = {}): RetryBudget {
  const { ttl = 10_000, minRetriesPerSecond = 10, percentCanRetry = 0.2, now = Date.now } = options;
  if (!(Number.isFinite(ttl) && ttl > 0))
    throw new TypeError(`kitts/lb: retryBudget ttl must be > 0 ms, got ${ttl}`);
  if (!(Number.isFinite(minRetriesPerSecond) && minRetriesPerSecond >= 0)) {
    throw new TypeError(`kitts/lb: retryBudget minRetriesPerSecond must be >= 0, got ${minRetriesPerSecond}`);
  }
  if (!(Number.isFinite(percentCanRetry) && percentCanRetry >= 0 && percentCanRetry <= 1000)) {
    throw new TypeError(
      `kitts/lb: retryBudget percentCanRetry must be within [0, 1000], got ${percentCanRetry}`,
    );
  }
  if (typeof now !== 'function') throw new TypeError('kitts/lb: retryBudget now must be a function');
  if (minRetriesPerSecond === 0 && percentCanRetry === 0) return EMPTY;
  // With no percentage every retry costs 1 token and only the reserve pays for them.
  const depositAmount = percentCanRetry === 0 ? 0 : SCALE;
  const withdrawalAmount = percentCanRetry === 0 ? 1 : Math.floor(SCALE / percentCanRetry);
  const reserve = Math.floor((minRetriesPerSecond * ttl) / 1000) * withdrawalAmount;
  return new TokenRetryBudget(ttl, now, depositAmount, withdrawalAmount, reserve);
}
