/**
 * serviceClients of the echo service over HTTP or gRPC, reduced to one call shape so the
 * scenarios do not care which transport they drive.
 */
import type { Metadata } from '@grpc/grpc-js';
import { type ServiceClientHandle, type ServiceClientOptions, serviceClient } from '@kitts/client';
import { grpc } from '@kitts/client/grpc';
import { http } from '@kitts/client/http';
import { background, type Context } from '@kitts/endpoint';
import { CLIENT_TAG, echoClient, type Reply } from './echo.js';

export interface EchoClient extends ServiceClientHandle {
  get(ctx: Context, key: string, n?: number): Promise<Reply>;
}

export type EchoClientOptions = Omit<ServiceClientOptions<any>, 'service' | 'transport'> & {
  transport: 'http' | 'grpc';
  /** Sent as `x-soak-client`, so instances count each client's calls apart. */
  tag?: string;
};

export async function echoServiceClient(options: EchoClientOptions): Promise<EchoClient> {
  const { transport, tag = 'default', ...rest } = options;
  if (transport === 'http') {
    const client = serviceClient({
      ...rest,
      service: 'echo',
      transport: http({
        methods: { get: { method: 'GET', path: '/items/:key' } },
        client: { headers: { [CLIENT_TAG]: tag } },
      }),
    });
    return Object.assign(Object.create(client) as ServiceClientHandle, {
      get: (ctx: Context, key: string) => client.get(ctx, { key }) as Promise<Reply>,
    });
  }
  const client = serviceClient({
    ...rest,
    service: 'echo',
    transport: grpc({
      client: await echoClient(),
      methods: {
        Get: {
          idempotent: true,
          options: {
            before: (_ctx: Context, metadata: Metadata) => {
              metadata.set(CLIENT_TAG, tag);
            },
          },
        },
      },
    }),
  });
  return Object.assign(Object.create(client) as ServiceClientHandle, {
    get: (ctx: Context, key: string, n = 0) => client.Get(ctx, { key, n }) as Promise<Reply>,
  });
}

/** The ids of the instances the client's balancer can currently pick from. */
export function balancerIds(client: ServiceClientHandle): Set<string> {
  return new Set(client.endpointer.current().entries.map((e) => e.instance.id));
}

/**
 * Follows the client's instance set: when each instance id joined and left it
 * (Date.now()). An id that joins twice keeps its first join.
 */
export function trackMembership(client: ServiceClientHandle): {
  joined: Map<string, number>;
  left: Map<string, number>;
  stop: () => void;
} {
  const joined = new Map<string, number>();
  const left = new Map<string, number>();
  let before = new Set<string>();
  const update = () => {
    const now = Date.now();
    const ids = balancerIds(client);
    for (const id of ids) if (!before.has(id) && !joined.has(id)) joined.set(id, now);
    for (const id of before) if (!ids.has(id)) left.set(id, now);
    before = ids;
  };
  update();
  const stop = client.endpointer.onChange(update);
  return { joined, left, stop };
}

export const ctx0 = background();
