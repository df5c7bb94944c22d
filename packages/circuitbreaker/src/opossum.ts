/**
 * `@kitts/circuitbreaker/opossum`: an opossum 9 CircuitBreaker as a kitts Middleware.
 *
 * opossum binds its action when the breaker is built, so the breaker must be built around
 * `opossumAction`, which calls whatever endpoint the middleware hands it:
 *
 *   const breaker = new CircuitBreaker(opossumAction, { timeout: 3000, errorFilter: opossumErrorFilter });
 *   const protectedEndpoint = fromOpossum(breaker)(endpoint);
 *
 * Nothing from opossum is imported here: the breaker is used through its public methods.
 */
import {
  CircuitOpenError,
  type Context,
  DeadlineExceededError,
  type Endpoint,
  type Middleware,
  withCancel,
  withSignal,
} from '@kitts/endpoint';
import { defaultIsFailure } from './is-failure.js';

/** The part of an opossum CircuitBreaker this adapter uses. */
export interface OpossumBreaker {
  fire(...args: any[]): Promise<unknown>;
  on(event: 'open', listener: () => void): unknown;
  readonly options?: { readonly resetTimeout?: number };
  getSignal?(): AbortSignal | undefined;
}

/** The action to build an opossum breaker around: it calls the endpoint it is fired with. */
export function opossumAction(next: Endpoint<any, any>, ctx: Context, request: unknown): Promise<unknown> {
  return next(ctx, request);
}

/**
 * For opossum's `errorFilter`: true (not a failure) for what kitts' default does not count
 * against a service: business and 4xx errors, and cancellations by the caller.
 */
export function opossumErrorFilter(err: unknown, _next?: unknown, ctx?: Context): boolean {
  return ctx === undefined ? false : !defaultIsFailure(err, ctx, 'error');
}

/**
 * A Middleware that runs every call through `breaker.fire`. The endpoint gets a child of
 * the caller's context that is cancelled when the call settles (so opossum's timeout
 * stops the work instead of leaving it running) and, when the breaker has an
 * abortController, when opossum aborts it. opossum's own errors become kitts errors:
 * an open breaker a CircuitOpenError (with retryAfter), a full semaphore a
 * CircuitOpenError with reason 'max-concurrency', a timeout a DeadlineExceededError.
 */
export function fromOpossum<Req = any, Res = any>(breaker: OpossumBreaker): Middleware<Req, Res> {
  if (typeof breaker !== 'object' || breaker === null || typeof breaker.fire !== 'function') {
    throw new TypeError('fromOpossum: expected an opossum CircuitBreaker');
  }
  const action = (breaker as { action?: unknown }).action;
  if (action !== undefined && action !== opossumAction) {
    throw new TypeError(
      'fromOpossum: build the breaker around opossumAction: new CircuitBreaker(opossumAction, options)',
    );
  }
  const isOurError = (breaker.constructor as { isOurError?: (err: unknown) => boolean }).isOurError;
  const resetTimeout = breaker.options?.resetTimeout ?? 30_000;
  let openedAt = 0;
  breaker.on('open', () => {
    openedAt = Date.now();
  });

  const translate = (err: unknown): unknown => {
    if (typeof err !== 'object' || err === null) return err;
    if (isOurError !== undefined && !isOurError(err)) return err;
    switch ((err as { code?: unknown }).code) {
      case 'EOPENBREAKER':
        return new CircuitOpenError('opossum breaker is open', {
          reason: 'open',
          retryAfter: Math.max(0, openedAt + resetTimeout - Date.now()),
          cause: err,
        });
      case 'ESEMLOCKED':
        return new CircuitOpenError('opossum breaker has no capacity left', {
          reason: 'max-concurrency',
          cause: err,
        });
      case 'ESHUTDOWN':
        return new CircuitOpenError('opossum breaker has been shut down', { reason: 'open', cause: err });
      case 'ETIMEDOUT':
        return new DeadlineExceededError((err as Error).message, { cause: err });
      default:
        return err;
    }
  };

  return (next) => async (ctx, request) => {
    const early = ctx.err();
    if (early !== undefined) throw early;
    const signal = breaker.getSignal?.();
    const [child, cancel] = signal === undefined ? withCancel(ctx) : withSignal(ctx, signal);
    try {
      return (await breaker.fire(next, child, request)) as Res;
    } catch (err) {
      throw translate(err);
    } finally {
      cancel();
    }
  };
}
