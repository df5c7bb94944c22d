/**
 * etcd3 client options for a process that must ride out an etcd restart. etcd3's own
 * defaults keep a host's breaker open for 5 s after three failed calls and let the watch
 * backoff grow to 30 s, so after a 10 s outage discovery could stay stale for half a
 * minute; these keep every wait under a second. The soak runs with them and reports,
 * next to them, what the defaults give (see docs/reliability.md).
 */
import { ConsecutiveBreaker, ConstantBackoff, circuitBreaker, handleAll, noop } from 'cockatiel';
import type { IOptions } from 'etcd3';

export function resilientEtcdOptions(hosts: string, extra: Partial<IOptions> = {}): IOptions {
  return {
    hosts,
    dialTimeout: 1000,
    faultHandling: {
      host: () => circuitBreaker(handleAll, { halfOpenAfter: 250, breaker: new ConsecutiveBreaker(3) }),
      global: noop,
      watchBackoff: new ConstantBackoff(250).next(),
    },
    grpcOptions: { 'grpc.initial_reconnect_backoff_ms': 100, 'grpc.max_reconnect_backoff_ms': 500 },
    ...extra,
  };
}
