// Where the product instances register, with their weight in metadata and a health check
// on GET /health:
//
//   memory://                          a MemoryRegistry (the default); checks run here (src/health.ts)
//   etcd://127.0.0.1:2379/services     checks run here; a failing instance is deregistered
//   zk://127.0.0.1:2181/services       the same with ephemeral nodes
//   consul://127.0.0.1:8500            the Consul agent runs an HTTP check itself
import { type DiscoverOptions, parseDiscoveryUrl } from '@kitts/client';
import { type Instance, MemoryRegistry, type Registrar } from '@kitts/sd';
import { checkedRegistrar } from './health.js';

export interface Registry {
  readonly url: string;
  readonly discoverOptions: DiscoverOptions;
  /** Who runs the health checks, for the printout. */
  readonly checker: string;
  registrar(service: string, instance: Instance): Registrar;
  close(): Promise<void>;
}

/** How often this process checks; Consul checks at most once a second. */
const INTERVAL_MS = 200;

export async function openRegistry(url = 'memory://'): Promise<Registry> {
  const d = parseDiscoveryUrl(url, 'service');
  const healthUrl = (instance: Instance) => `http://${instance.address}/health`;
  const here = `this process, GET /health every ${INTERVAL_MS} ms`;
  switch (d.scheme) {
    case 'memory': {
      const memory = new MemoryRegistry();
      return {
        url,
        discoverOptions: { memory },
        checker: here,
        registrar: (service, instance) => {
          const inner = memory.registrar(service, instance);
          return checkedRegistrar({
            url: healthUrl(instance),
            interval: INTERVAL_MS,
            // Critical until the first check passes, as in Consul.
            start: async () => {
              await inner.register();
              memory.setHealth(service, instance.id, 'critical');
            },
            apply: async (passing) =>
              memory.setHealth(service, instance.id, passing ? 'passing' : 'critical'),
            stop: () => inner.deregister(),
          });
        },
        close: async () => memory.close(),
      };
    }
    case 'etcd':
    case 'zk': {
      let make: (service: string, instance: Instance) => Registrar;
      let close: () => Promise<void>;
      if (d.scheme === 'etcd') {
        const { Etcd3 } = await import('etcd3');
        const { etcdRegistrar } = await import('@kitts/sd-etcd');
        const client = new Etcd3({ hosts: d.hosts });
        const prefix = (service: string) => (parseDiscoveryUrl(url, service) as { prefix: string }).prefix;
        make = (service, instance) => etcdRegistrar(client, { prefix: prefix(service), instance, ttl: 5 });
        close = async () => client.close();
      } else {
        const { ZkClient, zkRegistrar } = await import('@kitts/sd-zookeeper');
        const client = new ZkClient(d.connectionString);
        const path = (service: string) => (parseDiscoveryUrl(url, service) as { path: string }).path;
        make = (service, instance) => zkRegistrar(client, { path: path(service), instance });
        close = () => client.close();
      }
      return {
        url,
        discoverOptions: {},
        checker: `${here}; a failing instance is deregistered until it passes again`,
        registrar: (service, instance) => {
          const inner = make(service, instance);
          return checkedRegistrar({
            url: healthUrl(instance),
            interval: INTERVAL_MS,
            start: async () => {},
            apply: (passing) => (passing ? inner.register() : inner.deregister()),
            stop: () => inner.deregister(),
          });
        },
        close,
      };
    }
    case 'consul': {
      const { default: Consul } = await import('consul');
      const { consulRegistrar } = await import('@kitts/sd-consul');
      const consul = new Consul({ host: d.host, port: d.port });
      return {
        url,
        discoverOptions: {},
        checker: `the Consul agent at ${d.host}:${d.port}, GET /health every second`,
        registrar: (service, instance) => {
          const i = instance.address.lastIndexOf(':');
          return consulRegistrar(consul, {
            service,
            id: instance.id,
            address: instance.address.slice(0, i),
            port: Number(instance.address.slice(i + 1)),
            ...(instance.meta === undefined ? {} : { meta: instance.meta }),
            check: {
              http: healthUrl(instance),
              interval: '1s',
              timeout: '1s',
              deregisterCriticalServiceAfter: '1m',
            },
          });
        },
        close: async () => consul.destroy(),
      };
    }
    default:
      throw new Error(`--registry must be memory://, etcd://, consul:// or zk://; got ${url}`);
  }
}
