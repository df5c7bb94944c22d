/** How long to wait between attempts after a failure: doubling from `initial` up to `max` (ms). */
export interface RetryOptions {
  initial?: number;
  max?: number;
}

export function checkRetry(who: string, retry: RetryOptions = {}): Required<RetryOptions> {
  const { initial = 200, max = 5000 } = retry;
  if (!(Number.isFinite(initial) && initial > 0)) {
    throw new RangeError(
      `kitts/sd-etcd: ${who}: retry.initial must be a positive number of ms, got ${initial}`,
    );
  }
  if (!(Number.isFinite(max) && max >= initial)) {
    throw new RangeError(`kitts/sd-etcd: ${who}: retry.max must be a number >= retry.initial, got ${max}`);
  }
  return { initial, max };
}

/** The delay before attempt `n` (0-based), with jitter so many clients do not retry in step. */
export function delayFor(n: number, { initial, max }: Required<RetryOptions>): number {
  const base = Math.min(max, initial * 2 ** Math.min(n, 30));
  return base / 2 + (Math.random() * base) / 2;
}
