import { type CancelFunc, type Context, type Endpoint, RetryError, withCancel } from '@kitts/endpoint';
import type { Balancer } from './balancer.js';
import { invoke } from './race.js';
import { defaultRetryIf } from './retry.js';

export interface HedgeOptions {
  /** Milliseconds without an answer before the next copy of the request is sent. */
  delay: number;
  /** Copies in flight at most, the first included; 2 by default. */
  max?: number;
}

/**
 * Hedged requests ("The Tail at Scale"): send the request; if no answer comes within
 * `delay` ms, send it again to a different instance, up to `max` copies. The first
 * success wins and the others are cancelled through their contexts. A failure that
 * defaultRetryIf would retry sends the next copy at once; one it would not retry (a 4xx,
 * a DecodeError...) is the answer. When every copy failed: RetryError. No second copy goes
 * to an instance already working on the request.
 */
export function hedge<Req, Res>(balancer: Balancer<Req, Res>, options: HedgeOptions): Endpoint<Req, Res> {
  if (typeof balancer?.pick !== 'function') throw new TypeError('kitts/lb: hedge() needs a Balancer');
  const { delay, max = 2 } = options ?? ({} as HedgeOptions);
  if (!(Number.isFinite(delay) && delay >= 0))
    throw new TypeError(`kitts/lb: hedge delay must be >= 0 ms, got ${delay}`);
  if (!(Number.isInteger(max) && max >= 1))
    throw new TypeError(`kitts/lb: hedge max must be an integer >= 1, got ${max}`);

  return (ctx: Context, request: Req): Promise<Res> => {
    const early = ctx.err();
    if (early !== undefined) return Promise.reject(early);
    return new Promise<Res>((resolve, reject) => {
      const cancels: CancelFunc[] = [];
      const busy = new Set<string>();
      const errors: unknown[] = [];
      let running = 0;
      let settled = false;
      let timer: NodeJS.Timeout | undefined;
      let pickError: unknown;
      const signal = ctx.signal;

      const finish = () => {
        settled = true;
        if (timer !== undefined) clearTimeout(timer);
        signal.removeEventListener('abort', onAbort);
        for (const c of cancels) c();
      };
      const onAbort = () => {
        if (settled) return;
        finish();
        reject(ctx.err());
      };
      const fail = (err: unknown, fatal: boolean) => {
        errors.push(err);
        if (fatal) {
          finish();
          reject(err);
          return;
        }
        if (cancels.length < max && launch()) return;
        if (running === 0) {
          finish();
          reject(new RetryError(errors));
        }
      };
      /** Send one more copy; false when there is no other instance to send it to. */
      const launch = (): boolean => {
        if (timer !== undefined) {
          clearTimeout(timer);
          timer = undefined;
        }
        let entry: ReturnType<Balancer<Req, Res>['pick']>;
        try {
          entry = balancer.pick(ctx, request, busy.size > 0 ? busy : undefined);
        } catch (err) {
          pickError = err;
          return false;
        }
        if (busy.has(entry.instance.id)) return false;
        busy.add(entry.instance.id);
        const [actx, cancel] = withCancel(ctx);
        cancels.push(cancel);
        running++;
        invoke(entry, actx, request).then(
          (response) => {
            running--;
            if (settled) return;
            finish();
            resolve(response);
          },
          (err) => {
            running--;
            if (settled) return;
            busy.delete(entry.instance.id);
            fail(err, !defaultRetryIf(err));
          },
        );
        if (cancels.length < max) timer = setTimeout(launch, delay);
        return true;
      };

      signal.addEventListener('abort', onAbort, { once: true });
      if (!launch()) {
        finish();
        reject(pickError);
      }
    });
  };
}
