/**
 * `@kitts/circuitbreaker/cockatiel`: any cockatiel 3 policy (breaker, retry, timeout,
 * bulkhead, or a `wrap` of them) as a kitts Middleware.
 *
 * Only cockatiel's types are imported: its errors are recognised by the marker fields
 * cockatiel itself tests (`isBrokenCircuitError`...), so this file loads without it.
 */

import {
  CanceledError,
  CircuitOpenError,
  DeadlineExceededError,
  type Middleware,
  withSignal,
} from '@kitts/endpoint';
import type { IDefaultPolicyContext, IPolicy } from 'cockatiel';

/**
 * A Middleware that runs every call through `policy.execute`, passing `ctx.signal` as the
 * policy's signal. When the policy hands the endpoint a signal of its own (a timeout
 * policy does), the endpoint gets a child context that ends with it. cockatiel's errors
 * become kitts errors: a broken or isolated circuit a CircuitOpenError, a full bulkhead a
 * CircuitOpenError with reason 'max-concurrency', a cancelled task the caller's context
 * error or, when the policy's timeout ended it, a DeadlineExceededError.
 */
export function fromCockatiel<Req = any, Res = any>(
  policy: IPolicy<IDefaultPolicyContext, unknown>,
): Middleware<Req, Res> {
  if (typeof policy !== 'object' || policy === null || typeof policy.execute !== 'function') {
    throw new TypeError('fromCockatiel: expected a cockatiel policy');
  }
  return (next) => async (ctx, request) => {
    const signal = ctx.signal;
    try {
      return (await policy.execute(async ({ signal: given }) => {
        if (given === signal) return next(ctx, request);
        const [child, cancel] = withSignal(ctx, given);
        try {
          return await next(child, request);
        } catch (err) {
          // Only a timeout policy aborts the signal it hands out while the caller's is live.
          if (err instanceof CanceledError && given.aborted && ctx.err() === undefined) {
            throw new DeadlineExceededError('cockatiel timeout policy ended the call', { cause: err });
          }
          throw err;
        } finally {
          cancel();
        }
      }, signal)) as Res;
    } catch (err) {
      if (marked(err, 'isBrokenCircuitError')) {
        throw new CircuitOpenError('cockatiel circuit is open', { reason: 'open', cause: err });
      }
      if (marked(err, 'isBulkheadRejectedError')) {
        throw new CircuitOpenError('cockatiel bulkhead is full', { reason: 'max-concurrency', cause: err });
      }
      if (marked(err, 'isTaskCancelledError')) {
        throw ctx.err() ?? new DeadlineExceededError((err as Error).message, { cause: err });
      }
      throw err;
    }
  };
}

function marked(err: unknown, field: string): boolean {
  return typeof err === 'object' && err !== null && (err as Record<string, unknown>)[field] === true;
}
