import { codeOf, type Endpoint } from '@kitts/endpoint';
import { type Registry, register } from 'prom-client';
import { checkName, checkPrefix } from './names.js';
import { counterOf } from './shared.js';

export interface CountRejectionsOptions {
  /** The `limiter` label. */
  name: string;
  registry?: Registry;
  prefix?: string;
}

/**
 * A middleware for the outside of a rate limiter or bulkhead (@kitts/ratelimit's
 * `erroring`, `concurrencyLimit`, `adaptiveLimit`): counts the calls it refused, from the
 * RateLimitedError it throws, as `<prefix>ratelimit_rejections_total{limiter, reason}`.
 * The limiters have no event of their own; the error is the event. Other results pass
 * through untouched and uncounted.
 */
export function countRejections(
  options: CountRejectionsOptions,
): <Req, Res>(next: Endpoint<Req, Res>) => Endpoint<Req, Res> {
  const name = checkName(options?.name);
  const prefix = checkPrefix(options.prefix ?? 'kitts_');
  const counter = counterOf(
    options.registry ?? register,
    `${prefix}ratelimit_rejections_total`,
    'Calls a rate limiter or bulkhead refused, by reason.',
    ['limiter', 'reason'],
  );
  const byReason = new Map<string, { inc(): void }>();
  const count = (err: unknown) => {
    const reason = reasonOf(err);
    let c = byReason.get(reason);
    if (c === undefined) byReason.set(reason, (c = counter.labels({ limiter: name, reason })));
    c.inc();
  };
  return <Req, Res>(next: Endpoint<Req, Res>): Endpoint<Req, Res> =>
    (ctx, request) =>
      next(ctx, request).catch((err: unknown) => {
        if (codeOf(err) === 'RATE_LIMITED') count(err);
        throw err;
      });
}

function reasonOf(err: unknown): string {
  const r = (err as { reason?: unknown }).reason;
  return typeof r === 'string' && r !== '' ? r : 'rate';
}
