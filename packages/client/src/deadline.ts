import { type Middleware, withTimeout } from '@kitts/endpoint';

/**
 * The overall deadline of a call: every attempt, backoff sleep and hop inside runs on a
 * context that ends after `ms` (or the caller's own deadline, if earlier).
 */
export function deadline<Req, Res>(ms: number): Middleware<Req, Res> {
  if (!(ms > 0)) throw new RangeError(`kitts/client: timeout must be a positive number of ms, got ${ms}`);
  return (next) => async (ctx, req) => {
    const [child, cancel] = withTimeout(ctx, ms);
    try {
      return await next(child, req);
    } finally {
      cancel();
    }
  };
}
