/**
 * An adaptive concurrency limit: a bulkhead whose size is learned from latency and
 * failures instead of configured, so it follows the real capacity of what it protects.
 */
import {
  CanceledError,
  type Context,
  type Endpoint,
  type Middleware,
  RateLimitedError,
  statusCodeOf,
} from '@kitts/endpoint';
import { aimd, type LimitAlgorithm } from './algorithms.js';

export interface AdaptiveLimitOptions {
  /** How the limit moves. Default `aimd()`. One algorithm per limiter: they keep state. */
  algorithm?: LimitAlgorithm;
  /** Which errors signal overload. Default: everything but 4xx other than 429. */
  isDrop?: (err: unknown, ctx: Context) => boolean;
  /** The clock, in ms. Default performance.now. */
  now?: () => number;
}

export interface AdaptiveLimit<Req = any, Res = any> extends Middleware<Req, Res> {
  /** The current limit; floor(limit) calls may be in flight. */
  readonly limit: number;
  readonly inFlight: number;
}

/** Overload looks like timeouts, 5xx, 429 and connection errors; other 4xx are the caller's fault. */
export function defaultIsDrop(err: unknown): boolean {
  const status = statusCodeOf(err, 0);
  return status === 429 || status < 400 || status >= 500;
}

/**
 * A middleware that admits at most floor(limit) calls at once and refuses the rest with
 * a RateLimitedError (reason 'concurrency'), moving the limit after every call by the
 * algorithm's rule. A call its caller cancelled teaches nothing and is not sampled.
 */
export function adaptiveLimit<Req = any, Res = any>(
  options: AdaptiveLimitOptions = {},
): AdaptiveLimit<Req, Res> {
  const algorithm = options.algorithm ?? aimd();
  if (typeof algorithm?.update !== 'function') {
    throw new TypeError(
      'adaptiveLimit: algorithm must come from aimd() or gradient(), or implement LimitAlgorithm',
    );
  }
  const isDrop = options.isDrop ?? defaultIsDrop;
  const now = options.now ?? (() => performance.now());
  let limit = algorithm.initial;
  let inFlight = 0;

  const sample = (start: number, started: number, dropped: boolean) => {
    limit = algorithm.update(limit, { start, end: now(), inFlight: started, dropped });
  };

  const wrap = (next: Endpoint<Req, Res>): Endpoint<Req, Res> => {
    if (typeof next !== 'function') throw new TypeError('adaptiveLimit: expected an endpoint function');
    return async (ctx, request) => {
      if (inFlight >= Math.max(1, Math.floor(limit))) {
        throw new RateLimitedError(
          `adaptive limit: ${inFlight} calls in flight (limit ${Math.floor(limit)})`,
          {
            reason: 'concurrency',
          },
        );
      }
      const started = ++inFlight;
      const start = now();
      let response: Res;
      try {
        response = await next(ctx, request);
      } catch (err) {
        inFlight--;
        if (!(ctx.err() instanceof CanceledError)) sample(start, started, isDrop(err, ctx));
        throw err;
      }
      inFlight--;
      sample(start, started, false);
      return response;
    };
  };
  Object.defineProperties(wrap, {
    limit: { get: () => limit, enumerable: true },
    inFlight: { get: () => inFlight, enumerable: true },
  });
  return wrap as AdaptiveLimit<Req, Res>;
}
