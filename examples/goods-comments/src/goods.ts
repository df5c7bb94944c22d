// The goods service's client side: the product page needs the comments of one good, from
// whichever comments instance owns that id on the hash ring.
import { consecutiveFailures, type StateChange } from '@kitts/circuitbreaker';
import { serviceClient } from '@kitts/client';
import { type HttpMethodSpec, http } from '@kitts/client/http';
import type { Instancer } from '@kitts/sd';
import type { Comments } from './comments.js';

export interface BreakerEvent {
  instance: string;
  change: StateChange;
  /** Milliseconds since the client started. */
  at: number;
}

const getComments: HttpMethodSpec<{ id: string }, Comments> = { method: 'GET', path: '/comments/:id' };

export function commentsClient(discovery: Instancer | string, onBreakerChange: (e: BreakerEvent) => void) {
  const t0 = Date.now();
  return serviceClient({
    service: 'comments',
    discovery,
    transport: http({ methods: { getComments } }),
    // Consistent hashing on the goods id: the same id, the same instance, a warm cache.
    key: (_ctx, req: { id: string }) => req.id,
    retry: { max: 3, backoff: { base: 5, cap: 50, jitter: 'full' } },
    // Open after 5 failures in a row (gobreaker style). The default, Hystrix's 50% of a
    // 10 s window, would wait until this instance's recent successes were outweighed.
    breaker: { trip: consecutiveFailures(5), sleepWindow: 60_000 },
    onBreaker: (instance, breaker) =>
      breaker.onStateChange((change) =>
        onBreakerChange({ instance: instance.id, change, at: Date.now() - t0 }),
      ),
    timeout: 2000,
  });
}
