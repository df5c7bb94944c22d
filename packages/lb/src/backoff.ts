import type { Rng } from './rng.js';

export type Jitter = 'full' | 'equal' | 'decorrelated' | 'none';

export interface BackoffOptions {
  /** Delay (ms) before the first retry, before jitter; 25 by default. */
  base?: number;
  /** Largest delay (ms); 1000 by default. */
  cap?: number;
  /** AWS's "Exponential Backoff and Jitter" variants; 'full' by default. */
  jitter?: Jitter;
}

export interface Backoff {
  readonly base: number;
  readonly cap: number;
  readonly jitter: Jitter;
}

export const DEFAULT_BACKOFF: Backoff = Object.freeze({ base: 25, cap: 1000, jitter: 'full' });

export function checkBackoff(options: BackoffOptions | false | undefined): Backoff {
  if (options === undefined) return DEFAULT_BACKOFF;
  if (options === false) return { base: 0, cap: 0, jitter: 'none' };
  const { base = DEFAULT_BACKOFF.base, cap = DEFAULT_BACKOFF.cap, jitter = DEFAULT_BACKOFF.jitter } = options;
  if (!(Number.isFinite(base) && base >= 0))
    throw new TypeError(`kitts/lb: backoff base must be >= 0 ms, got ${base}`);
  if (!(cap >= base)) throw new TypeError(`kitts/lb: backoff cap (${cap}) must be >= base (${base})`);
  if (!['full', 'equal', 'decorrelated', 'none'].includes(jitter)) {
    throw new TypeError(
      `kitts/lb: backoff jitter must be 'full', 'equal', 'decorrelated' or 'none', got ${jitter}`,
    );
  }
  return { base, cap, jitter };
}

/**
 * The delay before retry number `n` (0 for the first retry). `previous` is the delay
 * returned last time (decorrelated jitter grows from it; pass `base` the first time).
 *   none:         min(cap, base * 2^n)
 *   full:         random(0, min(cap, base * 2^n))
 *   equal:        t/2 + random(0, t/2) with t = min(cap, base * 2^n)
 *   decorrelated: min(cap, random(base, previous * 3))
 */
export function backoffDelay(b: Backoff, n: number, previous: number, rng: Rng): number {
  const t = Math.min(b.cap, b.base * 2 ** n);
  switch (b.jitter) {
    case 'none':
      return t;
    case 'full':
      return rng() * t;
    case 'equal':
      return t / 2 + rng() * (t / 2);
    case 'decorrelated': {
      const hi = Math.max(b.base, previous * 3);
      return Math.min(b.cap, b.base + rng() * (hi - b.base));
    }
  }
}
