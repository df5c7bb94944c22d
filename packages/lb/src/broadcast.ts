import { type CancelFunc, type Context, type Endpoint, RetryError, withCancel } from '@kitts/endpoint';
import type { Entry } from '@kitts/sd';
import { checkSource, currentSet, type EndpointSource, noEndpoints } from './balancer.js';
import { invoke } from './race.js';

export interface BroadcastOptions {
  /** 'first': the first success wins; 'all': every result, in the set's order. */
  mode: 'first' | 'all';
}

/**
 * Call every available instance at once (every instance, if none is available).
 * 'first' resolves with the first success and cancels the rest; it fails with RetryError
 * (`final`, `errors`) when all of them fail. 'all' resolves with every response in the
 * set's order (sorted by instance id) and fails with the first error, cancelling the rest.
 * Either way a cancel of the caller's context cancels every call.
 */
export function broadcast<Req, Res>(
  endpointer: EndpointSource<Req, Res>,
  options: { mode: 'first' },
): Endpoint<Req, Res>;
export function broadcast<Req, Res>(
  endpointer: EndpointSource<Req, Res>,
  options: { mode: 'all' },
): Endpoint<Req, Res[]>;
export function broadcast<Req, Res>(
  endpointer: EndpointSource<Req, Res>,
  options: BroadcastOptions,
): Endpoint<Req, Res | Res[]>;
export function broadcast<Req, Res>(
  endpointer: EndpointSource<Req, Res>,
  options: BroadcastOptions,
): Endpoint<Req, Res | Res[]> {
  checkSource(endpointer, 'broadcast');
  const mode = options?.mode;
  if (mode !== 'first' && mode !== 'all') {
    throw new TypeError(`kitts/lb: broadcast mode must be 'first' or 'all', got ${JSON.stringify(mode)}`);
  }
  return (ctx: Context, request: Req): Promise<Res | Res[]> => {
    let targets: readonly Entry<Req, Res>[];
    try {
      targets = targetsOf(currentSet(endpointer).entries);
    } catch (err) {
      return Promise.reject(err);
    }
    if (targets.length === 0) return Promise.reject(noEndpoints());
    const early = ctx.err();
    if (early !== undefined) return Promise.reject(early);
    return new Promise<Res | Res[]>((resolve, reject) => {
      const cancels: CancelFunc[] = [];
      const results = new Array<Res>(targets.length);
      const errors: unknown[] = [];
      let left = targets.length;
      let settled = false;
      const signal = ctx.signal;
      const finish = () => {
        settled = true;
        signal.removeEventListener('abort', onAbort);
        for (const c of cancels) c();
      };
      const onAbort = () => {
        if (settled) return;
        finish();
        reject(ctx.err());
      };
      signal.addEventListener('abort', onAbort, { once: true });
      targets.forEach((entry, i) => {
        const [actx, cancel] = withCancel(ctx);
        cancels.push(cancel);
        invoke(entry, actx, request).then(
          (response) => {
            if (settled) return;
            if (mode === 'first') {
              finish();
              resolve(response);
              return;
            }
            results[i] = response;
            if (--left === 0) {
              finish();
              resolve(results);
            }
          },
          (err) => {
            if (settled) return;
            if (mode === 'all') {
              finish();
              reject(err);
              return;
            }
            errors.push(err);
            if (--left === 0) {
              finish();
              reject(new RetryError(errors));
            }
          },
        );
      });
    });
  };
}

function targetsOf<Req, Res>(entries: readonly Entry<Req, Res>[]): readonly Entry<Req, Res>[] {
  const up = entries.filter((e) => e.available === undefined || e.available());
  return up.length > 0 ? up : entries;
}
