import type { Context, Endpoint } from '@kitts/endpoint';
import type { Entry } from '@kitts/sd';
import type { Balancer } from './balancer.js';
import { invoke } from './race.js';

/** An Endpoint that sends each request to the entry the balancer picks for it. */
export function balanced<Req, Res>(balancer: Balancer<Req, Res>): Endpoint<Req, Res> {
  if (typeof balancer?.pick !== 'function') throw new TypeError('kitts/lb: balanced() needs a Balancer');
  return (ctx: Context, request: Req): Promise<Res> => {
    let entry: Entry<Req, Res>;
    try {
      entry = balancer.pick(ctx, request);
    } catch (err) {
      return Promise.reject(err);
    }
    return invoke(entry, ctx, request);
  };
}
