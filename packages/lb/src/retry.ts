import {
  type Context,
  DecodeError,
  type Endpoint,
  isFailer,
  NoEndpointsError,
  RetryError,
  sleep,
  statusCodeOf,
  withTimeout,
} from '@kitts/endpoint';
import { type BackoffOptions, backoffDelay, checkBackoff } from './backoff.js';
import type { Balancer } from './balancer.js';
import { invoke, raceContext } from './race.js';
import type { RetryBudget } from './retry-budget.js';
import { makeRng } from './rng.js';

export interface RetryOptions {
  /** Attempts in all, the first included (go-kit's max); at least 1. */
  max: number;
  /** Overall time (ms) for every attempt and wait; at its end the call fails with DeadlineExceededError. */
  timeout: number;
  /** Time (ms) for one attempt; an attempt that runs out is retried like any failure. */
  perAttemptTimeout?: number;
  /** Wait between attempts; exponential with full jitter from 25 ms up to 1 s by default; false for none. */
  backoff?: BackoffOptions | false;
  /** Whether an error is worth another attempt; `defaultRetryIf` by default. */
  retryIf?: (error: unknown, attempt: number) => boolean;
  /** Shared budget: one deposit per call, one withdrawal per retry; when it refuses, the call fails. */
  budget?: RetryBudget;
  /** Seed for the jitter; Math.random without one. */
  seed?: number | string;
}

/** With no endpoints, wait at least this long before looking again, whatever the backoff. */
const NO_ENDPOINTS_WAIT = 10;

/**
 * Retry every error except: an error that says `retryable: false` (one that says
 * `retryable: true` is always retried), a DecodeError, a 4xx-class status other than 408
 * and 429, and a Failer's business error. (A call the caller cancelled is never retried,
 * whatever retryIf says.)
 */
export function defaultRetryIf(error: unknown): boolean {
  if (typeof error === 'object' && error !== null) {
    const r = (error as { retryable?: unknown }).retryable;
    if (r === true) return true;
    if (r === false) return false;
  }
  if (error instanceof DecodeError) return false;
  if (isFailer(error) && error.failed() !== undefined) return false;
  const status = statusCodeOf(error, 0);
  return !(status >= 400 && status < 500 && status !== 408 && status !== 429);
}

/**
 * go-kit's Retry, with backoff: call the balancer's pick up to `max` times until one
 * succeeds, re-balancing each attempt away from instances that already failed this call
 * (while others exist). A response is returned as is, a Failer's too: a business error is
 * an answer, not a failure. Exhaustion throws RetryError (`final`, `errors`); an error
 * retryIf rejects is thrown unchanged; the overall timeout throws DeadlineExceededError,
 * a cancelled caller gets its CanceledError.
 */
export function retry<Req, Res>(balancer: Balancer<Req, Res>, options: RetryOptions): Endpoint<Req, Res> {
  if (typeof balancer?.pick !== 'function') throw new TypeError('kitts/lb: retry() needs a Balancer');
  const {
    max,
    timeout,
    perAttemptTimeout,
    retryIf = defaultRetryIf,
    budget,
    seed,
  } = options ?? ({} as RetryOptions);
  if (!(Number.isInteger(max) && max >= 1))
    throw new TypeError(`kitts/lb: retry max must be an integer >= 1, got ${max}`);
  if (!(typeof timeout === 'number' && timeout > 0)) {
    throw new TypeError(`kitts/lb: retry timeout must be > 0 ms (Infinity for none), got ${timeout}`);
  }
  if (perAttemptTimeout !== undefined && !(perAttemptTimeout > 0)) {
    throw new TypeError(`kitts/lb: retry perAttemptTimeout must be > 0 ms, got ${perAttemptTimeout}`);
  }
  if (typeof retryIf !== 'function') throw new TypeError('kitts/lb: retry retryIf must be a function');
  const backoff = checkBackoff(options.backoff);
  const rng = makeRng(seed);

  return async (ctx: Context, request: Req): Promise<Res> => {
    budget?.deposit();
    const [rctx, cancel] = Number.isFinite(timeout) ? withTimeout(ctx, timeout) : [ctx, undefined];
    const errors: unknown[] = [];
    let failed: Set<string> | undefined;
    let previous = backoff.base;
    try {
      for (let attempt = 1; ; attempt++) {
        const ended = rctx.err();
        if (ended !== undefined) throw ended;
        let error: unknown;
        try {
          const entry = balancer.pick(rctx, request, failed);
          const [actx, end] =
            perAttemptTimeout === undefined ? [rctx, undefined] : withTimeout(rctx, perAttemptTimeout);
          try {
            return await raceContext(actx, invoke(entry, actx, request));
          } catch (err) {
            error = err;
            (failed ??= new Set()).add(entry.instance.id);
          } finally {
            end?.();
          }
        } catch (err) {
          error = err; // the pick failed: no endpoints
        }
        // The overall deadline or the caller's cancel ends the call with the context's error.
        const stop = rctx.err();
        if (stop !== undefined) throw stop;
        errors.push(error);
        if (!retryIf(error, attempt)) throw error;
        if (attempt >= max) throw new RetryError(errors);
        if (budget !== undefined && !budget.tryWithdraw()) throw new RetryError(errors);
        let wait = backoffDelay(backoff, attempt - 1, previous, rng);
        previous = wait;
        if (error instanceof NoEndpointsError) wait = Math.max(wait, NO_ENDPOINTS_WAIT);
        await sleep(rctx, wait);
      }
    } finally {
      cancel?.();
    }
  };
}
