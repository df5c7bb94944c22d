import {
  type Context,
  DeadlineExceededError,
  type Middleware,
  RateLimitedError,
  sleep,
  timeRemaining,
} from '@kitts/endpoint';
import type { Limiter } from './token-bucket.js';

function checkLimiter(what: string, limiter: Limiter): void {
  if (typeof limiter !== 'object' || limiter === null || typeof limiter.take !== 'function') {
    throw new TypeError(`${what}: expected a limiter such as tokenBucket({ rate, burst })`);
  }
}

/**
 * go-kit's NewErroringLimiter: a call that finds no token is refused at once with a
 * RateLimitedError whose `retryAfter` says when the next token comes.
 */
export function erroring<Req = any, Res = any>(limiter: Limiter): Middleware<Req, Res> {
  checkLimiter('erroring', limiter);
  return (next) => (ctx, request) => {
    const wait = limiter.take();
    if (wait > 0) return Promise.reject(new RateLimitedError('rate limit exceeded', { retryAfter: wait }));
    return next(ctx, request);
  };
}

/**
 * go-kit's NewDelayingLimiter: a call waits for its token. The wait ends at once with the
 * context's error (CanceledError or DeadlineExceededError) when the context ends, giving
 * the token back; and when the token would come after the context's deadline, the call
 * fails at once with DeadlineExceededError instead of waiting in vain.
 */
export function delaying<Req = any, Res = any>(limiter: Limiter): Middleware<Req, Res> {
  checkLimiter('delaying', limiter);
  return (next) => async (ctx, request) => {
    await waitForToken(limiter, ctx);
    return next(ctx, request);
  };
}

async function waitForToken(limiter: Limiter, ctx: Context): Promise<void> {
  const early = ctx.err();
  if (early !== undefined) throw early;
  const left = timeRemaining(ctx) ?? Number.POSITIVE_INFINITY;
  const wait = limiter.reserve(left);
  if (wait < 0) {
    throw new DeadlineExceededError(
      `rate limit: waiting for a token would exceed the context deadline (${left} ms left)`,
    );
  }
  if (wait === 0) return;
  try {
    await sleep(ctx, wait);
  } catch (err) {
    limiter.cancel();
    throw err;
  }
}
