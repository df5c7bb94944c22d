import type { Context, Logger } from '@kitts/endpoint';
import type { FailurePredicate } from './is-failure.js';

/**
 * When a closed breaker opens. The default is Hystrix's error percentage over the rolling
 * window; `consecutiveFailures(n)` is gobreaker's simpler rule.
 */
export type TripPolicy =
  | { readonly kind: 'error-percentage'; readonly threshold: number; readonly volumeThreshold: number }
  | { readonly kind: 'consecutive-failures'; readonly failures: number };

/** Open after `n` failures in a row; any success in between starts the count again. */
export function consecutiveFailures(n: number): TripPolicy {
  positiveInteger('consecutiveFailures', 'n', n);
  return Object.freeze({ kind: 'consecutive-failures', failures: n });
}

export interface CircuitBreakerOptions<Req = any, Res = any> {
  /** Names the breaker in error messages and logs. */
  name?: string;
  /** Length of the rolling window in ms. Default 10_000 (Hystrix). */
  window?: number;
  /** Buckets the window is divided into. Default 10. */
  buckets?: number;
  /** Requests the window must hold before the error percentage may trip it. Default 20. */
  volumeThreshold?: number;
  /** Open when failures reach this percentage of the window's requests. Default 50. */
  errorThresholdPercentage?: number;
  /** Use another trip rule instead of the error percentage, e.g. `consecutiveFailures(5)`. */
  trip?: TripPolicy;
  /** How long the circuit stays open before a probe may go through, in ms. Default 5_000. */
  sleepWindow?: number;
  /** Calls let through while half-open; all must succeed to close. Default 1. */
  halfOpenProbes?: number;
  /** Bulkhead: calls in flight at once; excess fail fast (reason 'max-concurrency'). Default unlimited. */
  maxConcurrent?: number;
  /** Gives each call's context a deadline this many ms away; a timeout counts as a failure. */
  timeout?: number;
  /** What counts against the service. Default: `defaultIsFailure`. */
  isFailure?: FailurePredicate;
  /** Answer for a rejected call or a counted failure, instead of throwing. */
  fallback?: (err: unknown, ctx: Context, request: Req) => Res | Promise<Res>;
  /** The clock, in ms. Default Date.now; tests inject one. */
  now?: () => number;
  /** Where throwing listeners are reported. Default: silent. */
  logger?: Logger;
}

/** Options after defaults and validation. */
export interface Settings {
  name: string;
  window: number;
  buckets: number;
  trip: TripPolicy;
  sleepWindow: number;
  halfOpenProbes: number;
  maxConcurrent: number;
  timeout: number | undefined;
}

export function settle(options: CircuitBreakerOptions): Settings {
  if (typeof options !== 'object' || options === null) {
    throw new TypeError('circuitBreaker: options must be an object');
  }
  const name = options.name ?? 'circuit breaker';
  const where = `circuitBreaker(${name})`;
  const window = options.window ?? 10_000;
  positiveNumber(where, 'window', window);
  const buckets = options.buckets ?? 10;
  positiveInteger(where, 'buckets', buckets);
  const volumeThreshold = options.volumeThreshold ?? 20;
  nonNegativeInteger(where, 'volumeThreshold', volumeThreshold);
  const threshold = options.errorThresholdPercentage ?? 50;
  if (typeof threshold !== 'number' || !(threshold > 0 && threshold <= 100)) {
    throw new RangeError(`${where}: errorThresholdPercentage must be in (0, 100], got ${String(threshold)}`);
  }
  const trip = options.trip ?? { kind: 'error-percentage', threshold, volumeThreshold };
  if (trip.kind !== 'error-percentage' && trip.kind !== 'consecutive-failures') {
    throw new TypeError(`${where}: trip must come from consecutiveFailures(n) or be omitted`);
  }
  const sleepWindow = options.sleepWindow ?? 5_000;
  nonNegativeNumber(where, 'sleepWindow', sleepWindow);
  const halfOpenProbes = options.halfOpenProbes ?? 1;
  positiveInteger(where, 'halfOpenProbes', halfOpenProbes);
  const maxConcurrent = options.maxConcurrent ?? Number.POSITIVE_INFINITY;
  if (maxConcurrent !== Number.POSITIVE_INFINITY) positiveInteger(where, 'maxConcurrent', maxConcurrent);
  const timeout = options.timeout;
  if (timeout !== undefined) positiveNumber(where, 'timeout', timeout);
  for (const fn of ['isFailure', 'fallback', 'now'] as const) {
    if (options[fn] !== undefined && typeof options[fn] !== 'function') {
      throw new TypeError(`${where}: ${fn} must be a function`);
    }
  }
  return { name, window, buckets, trip, sleepWindow, halfOpenProbes, maxConcurrent, timeout };
}

function positiveNumber(where: string, what: string, v: unknown): void {
  if (typeof v !== 'number' || !Number.isFinite(v) || v <= 0) {
    throw new RangeError(`${where}: ${what} must be a positive number of milliseconds, got ${String(v)}`);
  }
}

function nonNegativeNumber(where: string, what: string, v: unknown): void {
  if (typeof v !== 'number' || !Number.isFinite(v) || v < 0) {
    throw new RangeError(`${where}: ${what} must be a non-negative number of milliseconds, got ${String(v)}`);
  }
}

function positiveInteger(where: string, what: string, v: unknown): void {
  if (typeof v !== 'number' || !Number.isSafeInteger(v) || v <= 0) {
    throw new RangeError(`${where}: ${what} must be a positive integer, got ${String(v)}`);
  }
}

function nonNegativeInteger(where: string, what: string, v: unknown): void {
  if (typeof v !== 'number' || !Number.isSafeInteger(v) || v < 0) {
    throw new RangeError(`${where}: ${what} must be a non-negative integer, got ${String(v)}`);
  }
}
