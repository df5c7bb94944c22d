import type { Endpoint } from '@kitts/endpoint';
import type { Instancer, InstancerEvent } from '@kitts/sd';
import { ConsecutiveBreaker, ConstantBackoff, circuitBreaker, handleAll, noop } from 'cockatiel';
import { Etcd3 } from 'etcd3';

/**
 * A client tuned for tests: the default host breaker stays open for 5 s after three
 * failures and the watch backoff grows to 30 s; here both are short, so recovery after
 * an etcd restart takes a fraction of a second instead of many.
 */
export function testClient(endpoint: string): Etcd3 {
  return new Etcd3({
    hosts: endpoint,
    dialTimeout: 1000,
    faultHandling: {
      host: () => circuitBreaker(handleAll, { halfOpenAfter: 100, breaker: new ConsecutiveBreaker(3) }),
      global: noop,
      watchBackoff: new ConstantBackoff(50).next(),
    },
    grpcOptions: { 'grpc.initial_reconnect_backoff_ms': 50, 'grpc.max_reconnect_backoff_ms': 200 },
  });
}

/** Records every event an Instancer delivers. */
export function record(instancer: Instancer): { events: InstancerEvent[]; stop: () => void } {
  const events: InstancerEvent[] = [];
  const stop = instancer.subscribe((e) => events.push(e));
  return { events, stop };
}

/** A factory whose endpoints answer with the instance's address. */
export const echoFactory =
  (instance: { address: string }): Endpoint<unknown, string> =>
  async () =>
    instance.address;

/** A logger that keeps its messages, for asserting which path the code took. */
export function memoryLogger(): {
  messages: string[];
  logger: Record<'debug' | 'info' | 'warn' | 'error', (...a: unknown[]) => void>;
} {
  const messages: string[] = [];
  const log = (...a: unknown[]) => {
    messages.push(a.filter((x) => typeof x === 'string').join(' '));
  };
  return { messages, logger: { debug: log, info: log, warn: log, error: log } };
}
