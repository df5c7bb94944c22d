import { CanceledError, type Context, onDone, withValue } from '@kitts/endpoint';
import { type Entry, instanceKey } from '@kitts/sd';

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
  // onDone rather than ctx.signal: no AbortController per call, only the context's own timer.
  return new Promise<T>((resolve, reject) => {
    const off = onDone(ctx, () => reject(ctx.err() ?? new CanceledError()));
    p.then(
      (v) => {
        off();
        resolve(v);
      },
      (e) => {
        off();
        reject(e);
      },
    );
  });
}

/**
 * Call an entry's endpoint, turning a synchronous throw into a rejection. The context it
 * gets names the instance (`instanceKey`), so middleware under the balancer (logging,
 * tracing, metrics) can say where the attempt went.
 */
export function invoke<Req, Res>(entry: Entry<Req, Res>, ctx: Context, request: Req): Promise<Res> {
  try {
    return entry.endpoint(withValue(ctx, instanceKey, entry.instance), request);
  } catch (err) {
    return Promise.reject(err);
  }
}
