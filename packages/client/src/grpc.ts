/**
 * The gRPC transport of a serviceClient: one grpc-js channel per instance, shared by
 * every method. `@kitts/client/grpc` so that only users of gRPC need @grpc/grpc-js.
 */
import type { ChannelCredentials, ChannelOptions, Client } from '@grpc/grpc-js';
import type { Context, Endpoint } from '@kitts/endpoint';
import type { Instance } from '@kitts/sd';
import {
  ChannelPool,
  type ClientConstructor,
  type ClientOptions,
  createUnaryClient,
} from '@kitts/transport-grpc';
import type { Connection, ServiceTransport } from './transport.js';

export interface GrpcMethodSpec<Req = any, Res = any, GReq = any, GRes = any> {
  /** Safe to retry (and DEADLINE_EXCEEDED/ABORTED become retryable). Default false: declare it. */
  idempotent?: boolean;
  /** Request to protocol message; the request as is by default. */
  encode?: (ctx: Context, request: Req) => GReq | Promise<GReq>;
  /** Protocol message to response; the message as is by default. */
  decode?: (ctx: Context, message: GRes) => Res | Promise<Res>;
  /** Hooks and call options for this method's client endpoint. */
  options?: Omit<ClientOptions, 'idempotent'>;
}

export interface GrpcTransportOptions<M extends string> {
  /** The generated or proto-loader client class of the service (e.g. `BookServiceClient`). */
  client: ClientConstructor<Client>;
  /** Method names (proto or camelCase names), or names with settings. */
  methods: readonly M[] | { readonly [K in M]: GrpcMethodSpec };
  /** Default: insecure (plaintext); pass `credentials.createSsl(...)` for TLS. */
  credentials?: ChannelCredentials;
  channelOptions?: ChannelOptions;
}

export type GrpcMethods<M extends string> = { [K in M]: Endpoint<any, any> };

const same = (_ctx: Context, x: unknown) => x;

export function grpc<M extends string>(options: GrpcTransportOptions<M>): ServiceTransport<GrpcMethods<M>> {
  if (typeof options?.client !== 'function') {
    throw new TypeError(
      'kitts/client: grpc() needs `client`, a grpc-js client class (generated or from proto-loader)',
    );
  }
  const specs: [string, GrpcMethodSpec][] = Array.isArray(options.methods)
    ? (options.methods as readonly string[]).map((m) => [m, {}])
    : Object.entries(options.methods as Record<string, GrpcMethodSpec>);
  if (specs.length === 0) throw new TypeError('kitts/client: grpc() needs at least one method');
  const service = (options.client as unknown as { service?: Record<string, unknown> }).service;
  for (const [name] of specs) {
    if (service !== undefined && !hasMethod(service, name)) {
      throw new TypeError(
        `kitts/client: the service has no method ${name}; it has ${Object.keys(service).join(', ')}`,
      );
    }
  }
  const pool = new ChannelPool({
    client: options.client,
    ...(options.credentials === undefined ? {} : { credentials: options.credentials }),
    ...(options.channelOptions === undefined ? {} : { channelOptions: options.channelOptions }),
  });
  const methods = Object.fromEntries(
    specs.map(([n, s]) => [n, { idempotent: s.idempotent ?? false }]),
  ) as ServiceTransport<GrpcMethods<M>>['methods'];

  return {
    methods,
    connect(instance: Instance): Connection<GrpcMethods<M>> {
      const lease = pool.acquire(instance);
      const endpoints: Record<string, Endpoint<any, any>> = {};
      try {
        for (const [name, spec] of specs) {
          endpoints[name] = createUnaryClient(lease.client, name, spec.encode ?? same, spec.decode ?? same, {
            ...spec.options,
            idempotent: spec.idempotent ?? false,
          });
        }
      } catch (err) {
        lease.release();
        throw err;
      }
      const channel = lease.client.getChannel();
      return {
        endpoints: endpoints as GrpcMethods<M>,
        close: () => lease.release(),
        // TRANSIENT_FAILURE (3): the channel cannot connect; let balancers route around it.
        available: () => channel.getConnectivityState(false) !== 3,
      };
    },
    close: async () => pool.close(),
  };
}

function hasMethod(service: Record<string, unknown>, name: string): boolean {
  if (name in service) return true;
  return Object.values(service).some((m) => {
    const d = m as { originalName?: string; path?: string };
    return d.originalName === name || d.path?.endsWith(`/${name}`) === true;
  });
}
