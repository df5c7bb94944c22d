import type { Endpoint } from '@kitts/endpoint';
import type { Factory, FactoryResult, Instance } from '@kitts/sd';
import { circuitBreaker } from './breaker.js';
import type { CircuitBreakerOptions } from './options.js';
import type { CircuitBreaker } from './types.js';

/** What `withBreakers` makes for each instance: the sd FactoryResult plus its breaker. */
export interface BreakerFactoryResult<Req, Res> extends FactoryResult<Req, Res> {
  readonly breaker: CircuitBreaker<Req, Res>;
  available(): boolean;
}

/**
 * Wrap an sd Factory so each instance gets its own breaker: outlier ejection. While an
 * instance's breaker is open its `Entry.available()` is false and the balancers route
 * around it; once `sleepWindow` has passed it reads true again, so a balancer can send
 * the probe that decides whether it comes back.
 *
 * `options` configures every breaker alike, or is a function that builds the breaker of
 * one instance (to name it, or to attach listeners and metrics).
 */
export function withBreakers<Req, Res>(
  factory: Factory<Req, Res>,
  options: CircuitBreakerOptions<Req, Res> | ((instance: Instance) => CircuitBreaker<Req, Res>) = {},
): (instance: Instance) => BreakerFactoryResult<Req, Res> {
  if (typeof factory !== 'function') throw new TypeError('withBreakers: factory must be a function');
  return (instance) => {
    const breaker =
      typeof options === 'function' ? options(instance) : circuitBreaker({ name: instance.id, ...options });
    if (typeof breaker !== 'function' || typeof breaker.available !== 'function') {
      throw new TypeError(`withBreakers: the breaker built for ${instance.id} is not a circuitBreaker()`);
    }
    const made = factory(instance);
    const inner: FactoryResult<Req, Res> =
      typeof made === 'function' ? { endpoint: made as Endpoint<Req, Res> } : made;
    const innerAvailable = inner.available?.bind(inner);
    const result: BreakerFactoryResult<Req, Res> = {
      endpoint: breaker(inner.endpoint),
      breaker,
      available: innerAvailable ? () => breaker.available() && innerAvailable() : () => breaker.available(),
      ...(inner.close ? { close: () => inner.close!() } : {}),
    };
    return result;
  };
}
