/**
 * serviceClient: the pieces of kitts wired for one service with safe defaults. Every
 * method's endpoint shares one Instancer, one Endpointer and one connection per
 * instance; the result is still plain Endpoints, so they compose as before.
 *
 * The layers of one call, outermost first (fixed, so each layer sees what it should):
 *
 *   user middleware -> overall deadline -> retry (idempotent methods only) or a single
 *   balanced call -> balancer pick -> per-instance circuit breaker -> transport endpoint
 *
 * - user middleware (metrics, tracing, logging) sees each call once, with its final result;
 * - the deadline bounds every attempt and every backoff sleep;
 * - retry sees a breaker's fast failure (CircuitOpenError) and moves to another instance;
 * - the breaker of an instance sees that instance's timeouts and 5xx, nothing else.
 */
import { type CircuitBreaker, type CircuitBreakerOptions, circuitBreaker } from '@kitts/circuitbreaker';
import {
  type Context,
  chain,
  type Endpoint,
  type Logger,
  type Middleware,
  silentLogger,
} from '@kitts/endpoint';
import {
  type BackoffOptions,
  type Balancer,
  balanced,
  type EndpointSource,
  type RetryBudget,
  retry,
  retryBudget,
  ringHash,
  roundRobin,
} from '@kitts/lb';
import { Endpointer, type FactoryResult, type Instance, type Instancer } from '@kitts/sd';
import { deadline } from './deadline.js';
import { type DiscoverOptions, discover } from './discover.js';
import type { MethodTable, ServiceTransport } from './transport.js';

/** What travels through the shared Endpointer: which method, and its request. */
export interface Call {
  readonly method: string;
  readonly request: unknown;
}

export type HashKeyFunction<Req> = (ctx: Context, request: Req) => string | number | bigint;

export interface RetrySettings {
  /** Attempts in all, the first included. Default 3. */
  max?: number;
  /** Time for one attempt (ms); an attempt that runs out is retried. Default none. */
  perAttemptTimeout?: number;
  /** Default: exponential with full jitter (lb's default). */
  backoff?: BackoffOptions | false;
  /** A budget shared by every method of this client, by default a fresh `retryBudget()`; `false` for none. */
  budget?: RetryBudget | false;
}

export interface MethodSettings<Req = any, Res = any> {
  /** Overall deadline of one call (ms). */
  timeout?: number;
  /** Overrides the transport's idempotency: only idempotent methods are retried. */
  idempotent?: boolean;
  retry?: RetrySettings | false;
  /** Consistent hashing on this key (ring hash over xxHash64) instead of the client's balancer. */
  key?: HashKeyFunction<Req>;
  /** Innermost of the user layers for this method, after the client-wide `middleware`. */
  middleware?: readonly Middleware<Req, Res>[];
}

export interface ServiceClientOptions<M extends MethodTable> {
  service: string;
  /** An Instancer, or a registry URL for `discover()` (memory://, static://, etcd://, consul://, zk://, dns+srv://, eureka://). */
  discovery: Instancer | string;
  /** Options for `discover()` when `discovery` is a URL. */
  discoverOptions?: DiscoverOptions;
  transport: ServiceTransport<M>;
  /** Builds the balancer over the client's Endpointer. Default: round robin. */
  balancer?: (endpointer: EndpointSource<Call, unknown>) => Balancer<Call, unknown>;
  /** Consistent hashing for every method on this key (of the method's request). */
  key?: HashKeyFunction<any>;
  /** Retry for idempotent methods. Default `{ max: 3 }` with jittered backoff and a shared budget. */
  retry?: RetrySettings | false;
  /** Per-instance circuit breaker options (Hystrix defaults); `false` for none. */
  breaker?: Omit<CircuitBreakerOptions, 'name' | 'fallback'> | false;
  /** Called with each per-instance breaker when it is created: attach listeners or metrics here. */
  onBreaker?: (instance: Instance, breaker: CircuitBreaker<Call, unknown>) => void;
  /** Overall deadline of one call (ms). Default 10_000. */
  timeout?: number;
  /** User middleware, outermost (the first is the outermost of all). */
  middleware?: readonly Middleware<any, any>[];
  /** Per-method overrides. */
  methods?: { readonly [K in keyof M]?: MethodSettings };
  /** go-kit's invalidateOnError for the shared Endpointer (see @kitts/sd). */
  invalidateOnError?: number;
  logger?: Logger;
}

export interface ServiceClientHandle {
  /** The shared endpoint cache, for metrics (`onChange`) and inspection. */
  readonly endpointer: Endpointer<Call, unknown>;
  /** Resolves once at least one instance is available, or rejects after `timeout` ms. */
  ready(timeout?: number): Promise<void>;
  /** Releases the watch, every connection and timer. Idempotent. */
  close(): Promise<void>;
}

export type ServiceClient<M extends MethodTable> = M & ServiceClientHandle;

const RESERVED = new Set(['endpointer', 'ready', 'close', 'then']);

export function serviceClient<M extends MethodTable>(options: ServiceClientOptions<M>): ServiceClient<M> {
  const { service, transport, timeout = 10_000, logger = silentLogger } = options;
  if (typeof service !== 'string' || service === '')
    throw new TypeError('kitts/client: service must be a non-empty name');
  if (transport === undefined || typeof transport.connect !== 'function') {
    throw new TypeError(
      'kitts/client: transport must come from http() (@kitts/client/http) or grpc() (@kitts/client/grpc)',
    );
  }
  const methodNames = Object.keys(transport.methods);
  for (const name of methodNames) {
    if (RESERVED.has(name))
      throw new TypeError(`kitts/client: a method may not be named "${name}" (reserved by the client)`);
  }
  for (const name of Object.keys(options.methods ?? {})) {
    if (!methodNames.includes(name))
      throw new TypeError(`kitts/client: methods.${name} names no method of the transport`);
  }

  const instancer =
    typeof options.discovery === 'string'
      ? discover(options.discovery, service, options.discoverOptions)
      : options.discovery;
  const breakerOptions = options.breaker;

  // One connection per instance, every method on it, behind one breaker per instance.
  const factory = (instance: Instance): FactoryResult<Call, unknown> => {
    const conn = transport.connect(instance);
    const table = conn.endpoints as Record<string, Endpoint<unknown, unknown>>;
    const dispatch: Endpoint<Call, unknown> = (ctx, call) => table[call.method]!(ctx, call.request);
    const connAvailable = conn.available?.bind(conn);
    if (breakerOptions === false) {
      return {
        endpoint: dispatch,
        close: () => conn.close(),
        ...(connAvailable ? { available: connAvailable } : {}),
      };
    }
    const breaker = circuitBreaker<Call, unknown>({
      ...breakerOptions,
      name: `${service}/${instance.id}`,
      logger,
    });
    options.onBreaker?.(instance, breaker);
    return {
      endpoint: breaker(dispatch),
      close: () => conn.close(),
      available: connAvailable ? () => breaker.available() && connAvailable() : () => breaker.available(),
    };
  };

  const endpointer = new Endpointer<Call, unknown>(instancer, factory, {
    logger,
    ...(options.invalidateOnError === undefined ? {} : { invalidateOnError: options.invalidateOnError }),
  });
  const sharedBalancer = options.key
    ? keyed(endpointer, options.key)
    : (options.balancer ?? ((e: EndpointSource<Call, unknown>) => roundRobin(e)))(endpointer);
  const budget = budgetOf(options.retry);

  const client: Record<string, unknown> = {};
  for (const name of methodNames) {
    const own: MethodSettings = options.methods?.[name as keyof M] ?? {};
    const idempotent = own.idempotent ?? transport.methods[name as keyof M].idempotent;
    const balancer = own.key ? keyed(endpointer, own.key) : sharedBalancer;
    const retrySettings = own.retry ?? options.retry ?? {};
    const callTimeout = own.timeout ?? timeout;

    let inner: Endpoint<Call, unknown>;
    if (idempotent && retrySettings !== false) {
      const s = retrySettings;
      inner = retry(balancer, {
        max: s.max ?? 3,
        timeout: callTimeout,
        ...(s.perAttemptTimeout === undefined ? {} : { perAttemptTimeout: s.perAttemptTimeout }),
        ...(s.backoff === undefined ? {} : { backoff: s.backoff }),
        ...(s.budget === false ? {} : { budget: s.budget ?? budget }),
      });
    } else {
      inner = balanced(balancer);
    }
    const method: Endpoint<unknown, unknown> = (ctx, request) => inner(ctx, { method: name, request });
    const layers: Middleware<any, any>[] = [
      ...(options.middleware ?? []),
      ...(own.middleware ?? []),
      deadline(callTimeout),
    ];
    client[name] = chain(layers[0]!, ...layers.slice(1))(method);
  }

  let closing: Promise<void> | undefined;
  const handle: ServiceClientHandle = {
    endpointer,
    ready: (ms = timeout) =>
      endpointer.when((set) => set.entries.length > 0, ms, `an instance of ${service}`).then(() => undefined),
    close: () => {
      closing ??= (async () => {
        await endpointer.close();
        if (typeof options.discovery === 'string') await instancer.close();
        await transport.close();
      })();
      return closing;
    },
  };
  Object.defineProperties(client, {
    endpointer: { value: handle.endpointer, enumerable: false },
    ready: { value: handle.ready, enumerable: false },
    close: { value: handle.close, enumerable: false },
  });
  return client as ServiceClient<M>;
}

function keyed(endpointer: Endpointer<Call, unknown>, key: HashKeyFunction<any>): Balancer<Call, unknown> {
  return ringHash(endpointer, { key: (ctx, call: Call) => key(ctx, call.request) });
}

function budgetOf(settings: RetrySettings | false | undefined): RetryBudget | undefined {
  if (settings === false || settings?.budget === false) return undefined;
  return settings?.budget ?? retryBudget();
}
