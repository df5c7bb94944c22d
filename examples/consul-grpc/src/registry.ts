// Where the add instances register, each with a gRPC health check on the add service:
//
//   memory://                  an in-process MemoryRegistry (the default); the checks run here,
//                              in src/health-checks.ts, the way a Consul agent runs them
//   consul://127.0.0.1:8500    the local Consul agent, which runs the gRPC checks itself
import { type DiscoverOptions, parseDiscoveryUrl } from '@kitts/client';
import { type Instance, MemoryRegistry, type Registrar } from '@kitts/sd';
import { checkedRegistrar } from './health-checks.js';

export interface Registry {
  readonly url: string;
  readonly discoverOptions: DiscoverOptions;
  /** Who runs the health checks and how often, for the printout. */
  readonly checker: string;
  /** A registrar for `instance` whose health is what `grpcService` reports on the instance's address. */
  registrar(service: string, instance: Instance, grpcService: string): Registrar;
  close(): Promise<void>;
}

/** The memory checker's interval; Consul does not check more often than once a second. */
const MEMORY_INTERVAL_MS = 250;

export async function openRegistry(url = 'memory://'): Promise<Registry> {
  const d = parseDiscoveryUrl(url, 'service');
  if (d.scheme === 'memory') {
    const memory = new MemoryRegistry();
    return {
      url,
      discoverOptions: { memory },
      checker: `this process (standing in for a Consul agent), every ${MEMORY_INTERVAL_MS} ms`,
      registrar: (service, instance, grpcService) =>
        checkedRegistrar(memory, service, instance, {
          target: instance.address,
          service: grpcService,
          interval: MEMORY_INTERVAL_MS,
          timeout: 1000,
        }),
      close: async () => memory.close(),
    };
  }
  if (d.scheme === 'consul') {
    const { default: Consul } = await import('consul');
    const { consulRegistrar } = await import('@kitts/sd-consul');
    const consul = new Consul({ host: d.host, port: d.port });
    return {
      url,
      discoverOptions: {},
      checker: `the Consul agent at ${d.host}:${d.port}, every second`,
      registrar: (service, instance, grpcService) => {
        const i = instance.address.lastIndexOf(':');
        const host = instance.address.slice(0, i);
        const port = Number(instance.address.slice(i + 1));
        return consulRegistrar(consul, {
          service,
          id: instance.id,
          address: host,
          port,
          check: {
            grpc: `${instance.address}/${grpcService}`,
            interval: '1s',
            timeout: '1s',
            // If this process dies without deregistering, Consul removes the entry after this.
            deregisterCriticalServiceAfter: '1m',
          },
        });
      },
      close: async () => consul.destroy(),
    };
  }
  throw new Error(
    `--registry must be memory:// or consul://host:port (a registry with health checks); got ${url}`,
  );
}
