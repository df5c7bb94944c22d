/**
 * fp-ts interop. An Endpoint is `(ctx, req) => Promise<Res>`; its fp-ts twin is
 * `(req) => ReaderTaskEither<Context, Error, Res>`: the context is the environment,
 * failure is a Left instead of a rejection. These functions convert between the two, so
 * endpoints and middleware compose in `pipe` and `flow` as well as with `chain`.
 */
import * as E from 'fp-ts/lib/Either.js';
import type { ReaderTaskEither } from 'fp-ts/lib/ReaderTaskEither.js';
import type { Context } from './context.js';
import type { Endpoint, Middleware } from './endpoint.js';

export type EndpointRTE<Req, Res> = (request: Req) => ReaderTaskEither<Context, Error, Res>;

const toError = (e: unknown): Error => (e instanceof Error ? e : new Error(String(e)));

/** An Endpoint as a function returning a ReaderTaskEither; a rejection becomes a Left. */
export function toReaderTaskEither<Req, Res>(endpoint: Endpoint<Req, Res>): EndpointRTE<Req, Res> {
  return (request) => (ctx) => () =>
    endpoint(ctx, request).then(
      (res) => E.right(res),
      (err: unknown) => E.left(toError(err)),
    );
}

/** A ReaderTaskEither-returning function as an Endpoint; a Left becomes a rejection. */
export function fromReaderTaskEither<Req, Res>(f: EndpointRTE<Req, Res>): Endpoint<Req, Res> {
  return async (ctx, request) => {
    const result = await f(request)(ctx)();
    if (E.isLeft(result)) throw result.left;
    return result.right;
  };
}

/**
 * A Middleware lifted to work on ReaderTaskEither-returning functions, so it can sit in
 * `pipe(handler, liftMiddleware(logging), liftMiddleware(retrying))`.
 */
export function liftMiddleware<Req, Res>(
  middleware: Middleware<Req, Res>,
): (f: EndpointRTE<Req, Res>) => EndpointRTE<Req, Res> {
  return (f) => toReaderTaskEither(middleware(fromReaderTaskEither(f)));
}

/**
 * A Middleware as a plain endpoint-to-endpoint function with its type parameters fixed,
 * for `pipe(endpoint, use(a), use(b))` (a is applied first, so it ends up innermost).
 */
export function use<Req, Res>(
  middleware: Middleware<Req, Res>,
): (e: Endpoint<Req, Res>) => Endpoint<Req, Res> {
  return middleware;
}
