import { CanceledError, type Context } from '@kitts/endpoint';

/**
 * Settle with `p`, or reject with the context's error as soon as the context ends, even
 * when the endpoint ignores its context (go-kit's select on ctx.Done()). The loser's
 * outcome is consumed, so it never surfaces as an unhandled rejection.
 */
export function raceContext<T>(ctx: Context, p: Promise<T>): Promise<T> {
  const early = ctx.err();
  if (early !== undefined) {
    p.catch(() => {});
    return Promise.reject(early);
  }
  const signal = ctx.signal;
  return new Promise<T>((resolve, reject) => {
    const onAbort = () => reject(ctx.err() ?? new CanceledError());
    signal.addEventListener('abort', onAbort, { once: true });
    p.then(
      (v) => {
        signal.removeEventListener('abort', onAbort);
        resolve(v);
      },
      (e) => {
        signal.removeEventListener('abort', onAbort);
        reject(e);
      },
    );
  });
}

/** Call an endpoint, turning a synchronous throw into a rejection. */
export function invoke<Req, Res>(
  endpoint: (ctx: Context, request: Req) => Promise<Res>,
  ctx: Context,
  request: Req,
): Promise<Res> {
  try {
    return endpoint(ctx, request);
  } catch (err) {
    return Promise.reject(err);
  }
}
