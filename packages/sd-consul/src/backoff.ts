export interface BackoffOptions {
  /** First delay in ms (before jitter). Default 100. */
  initial?: number;
  /** Cap in ms (before jitter). Default 30_000. */
  max?: number;
}

/**
 * The delay before retry number `attempt` (1-based): exponential, capped, with "equal
 * jitter" — half fixed, half random — so concurrent clients spread out but no delay is
 * ever near zero. go-kit's Consul instancer once retried in a tight loop and spun a CPU
 * at 100% while Consul was down; the fixed half is what rules that out.
 */
export function backoffDelay(attempt: number, options: BackoffOptions = {}, random = Math.random): number {
  const initial = options.initial ?? 100;
  const max = options.max ?? 30_000;
  const exp = Math.min(max, initial * 2 ** Math.min(Math.max(attempt - 1, 0), 30));
  return exp / 2 + (exp / 2) * random();
}

/**
 * A token bucket that paces a blocking-query loop, as HashiCorp's blocking-query notes
 * advise: in the happy case a response arrives once per change and the loop proceeds at
 * once; when results churn (or a server answers without blocking) it degrades to one
 * query per `interval` instead of a busy loop. `burst` quick queries are allowed first.
 */
export class TokenBucket {
  private tokens: number;
  private last: number;

  constructor(
    private readonly burst: number,
    private readonly interval: number,
    private readonly now: () => number = Date.now,
  ) {
    if (!(burst >= 1))
      throw new TypeError(`kitts/sd-consul: rateLimit.burst must be at least 1, got ${burst}`);
    if (!(interval >= 0)) {
      throw new TypeError(
        `kitts/sd-consul: rateLimit.interval must be a non-negative number, got ${interval}`,
      );
    }
    this.tokens = burst;
    this.last = now();
  }

  /** Takes a token; returns 0 when one was available, else the ms until the next one. */
  take(): number {
    const now = this.now();
    if (this.interval === 0) return 0;
    this.tokens = Math.min(this.burst, this.tokens + (now - this.last) / this.interval);
    this.last = now;
    if (this.tokens >= 1) {
      this.tokens -= 1;
      return 0;
    }
    return Math.ceil((1 - this.tokens) * this.interval);
  }
}
