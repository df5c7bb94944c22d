import type { Context } from './context.js';

/** The unit of kitts: one remote or local operation, as go-kit's endpoint.Endpoint. */
export type Endpoint<Req = unknown, Res = unknown> = (ctx: Context, request: Req) => Promise<Res>;

/** A function that wraps an Endpoint with behaviour: retries, breakers, logging... */
export type Middleware<Req = unknown, Res = unknown> = (next: Endpoint<Req, Res>) => Endpoint<Req, Res>;

/**
 * Compose middlewares; the first is the outermost, as go-kit's Chain:
 * `chain(a, b, c)(e)` is `a(b(c(e)))`, so a request passes a, then b, then c.
 */
export function chain<Req, Res>(
  outer: Middleware<Req, Res>,
  ...others: Middleware<Req, Res>[]
): Middleware<Req, Res> {
  return (next) => {
    for (let i = others.length - 1; i >= 0; i--) next = others[i]!(next);
    return outer(next);
  };
}

/** An endpoint that does nothing and resolves to an empty object, as go-kit's Nop. */
export const nop: Endpoint<unknown, Record<string, never>> = () => Promise.resolve({});

/**
 * A response that carries a business error (go-kit's endpoint.Failer): the call worked,
 * the answer is "no". Breakers and retries do not count it as a failure of the instance.
 */
export interface Failer {
  failed(): Error | undefined;
}

export function isFailer(x: unknown): x is Failer {
  return typeof x === 'object' && x !== null && typeof (x as { failed?: unknown }).failed === 'function';
}

/** The business error of a Failer response, or undefined. */
export function businessError(response: unknown): Error | undefined {
  return isFailer(response) ? response.failed() : undefined;
}
