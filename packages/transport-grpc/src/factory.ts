/**
 * Channels per instance for service discovery. go-kit users hit two problems with its
 * gRPC factories: one connection per method (every method's Endpointer dialled its own),
 * and dials that leaked when instances left. Here a ChannelPool owns one grpc-js Client
 * (one channel) per instance address, shared by every method's factory, reference-counted
 * so the channel closes when the last endpoint on it is released.
 */
import {
  type ChannelCredentials,
  type ChannelOptions,
  Client,
  type ClientOptions,
  connectivityState,
  credentials as grpcCredentials,
} from '@grpc/grpc-js';
import type { Endpoint } from '@kitts/endpoint';
import type { Factory, FactoryResult, Instance } from '@kitts/sd';

export type ClientConstructor<C extends Client> = new (
  address: string,
  credentials: ChannelCredentials,
  options?: ClientOptions,
) => C;

export interface ChannelPoolOptions<C extends Client = Client> {
  /** Default: insecure (plaintext), as for a service mesh or tests; pass TLS credentials otherwise. */
  credentials?: ChannelCredentials;
  /** grpc-js channel options (keepalive, message sizes...). */
  channelOptions?: ChannelOptions;
  /** The client class to build: a generated or proto-loader client, or grpc-js's Client. */
  client?: ClientConstructor<C>;
  /** The gRPC target for an instance; `instance.address` (`host:port`, `unix:/path`) by default. */
  target?: (instance: Instance) => string;
}

export interface Lease<C extends Client> {
  readonly client: C;
  /** Gives the channel back; the last release closes it. Idempotent. */
  release(): void;
}

interface Slot<C> {
  client: C;
  refs: number;
}

export class ChannelPool<C extends Client = Client> {
  private readonly slots = new Map<string, Slot<C>>();
  private readonly credentials: ChannelCredentials;
  private readonly channelOptions: ChannelOptions;
  private readonly Ctor: ClientConstructor<C>;
  private readonly target: (instance: Instance) => string;
  private closed = false;

  constructor(options: ChannelPoolOptions<C> = {}) {
    this.credentials = options.credentials ?? grpcCredentials.createInsecure();
    this.channelOptions = options.channelOptions ?? {};
    this.Ctor = options.client ?? (Client as unknown as ClientConstructor<C>);
    this.target = options.target ?? ((i) => i.address);
  }

  /** The shared client for an instance, opening its channel on first use. */
  acquire(instance: Instance): Lease<C> {
    if (this.closed) throw new Error('kitts: the channel pool is closed');
    const target = this.target(instance);
    if (typeof target !== 'string' || target === '') {
      throw new TypeError(`kitts: instance ${instance.id} has no address to dial`);
    }
    let slot = this.slots.get(target);
    if (slot === undefined) {
      slot = { client: new this.Ctor(target, this.credentials, this.channelOptions), refs: 0 };
      this.slots.set(target, slot);
    }
    slot.refs++;
    const held = slot;
    let released = false;
    return {
      client: held.client,
      release: () => {
        if (released) return;
        released = true;
        if (--held.refs > 0) return;
        if (this.slots.get(target) === held) this.slots.delete(target);
        held.client.close();
      },
    };
  }

  /** Open channels. */
  get size(): number {
    return this.slots.size;
  }

  /** Closes every channel at once, whoever holds it. */
  close(): void {
    this.closed = true;
    for (const slot of this.slots.values()) slot.client.close();
    this.slots.clear();
  }
}

export interface GrpcFactoryOptions<C extends Client = Client> extends ChannelPoolOptions<C> {
  /** Share channels with the factories of the service's other methods. */
  pool?: ChannelPool<C>;
}

/**
 * An sd Factory building an endpoint per instance on the instance's shared channel:
 *
 * ```ts
 * const pool = new ChannelPool({ client: UsersClient });
 * const get = new Endpointer(instancer, grpcFactory((c) => createUnaryClient(c, 'get', enc, dec), { pool }));
 * const put = new Endpointer(instancer, grpcFactory((c) => createUnaryClient(c, 'put', enc, dec), { pool }));
 * ```
 *
 * The entry is unavailable to balancers while its channel is in TRANSIENT_FAILURE.
 */
export function grpcFactory<Req, Res, C extends Client = Client>(
  make: (client: C, instance: Instance) => Endpoint<Req, Res>,
  options: GrpcFactoryOptions<C> = {},
): Factory<Req, Res> {
  if (typeof make !== 'function')
    throw new TypeError('kitts: grpcFactory needs a function building the endpoint');
  const pool = options.pool ?? new ChannelPool<C>(options);
  return (instance): FactoryResult<Req, Res> => {
    const lease = pool.acquire(instance);
    let endpoint: Endpoint<Req, Res>;
    try {
      endpoint = make(lease.client, instance);
    } catch (e) {
      lease.release();
      throw e;
    }
    const channel = lease.client.getChannel();
    return {
      endpoint,
      close: lease.release,
      available: () => channel.getConnectivityState(false) !== connectivityState.TRANSIENT_FAILURE,
    };
  };
}
