// Where the book instances register, from the same URL the client discovers them with:
//
//   memory://                          an in-process MemoryRegistry (the default: nothing to install)
//   etcd://127.0.0.1:2379/services     keys /services/book/<id> under a lease (@kitts/sd-etcd)
//   consul://127.0.0.1:8500            the local agent's catalog (@kitts/sd-consul)
//   zk://127.0.0.1:2181/services       ephemeral nodes under /services/book (@kitts/sd-zookeeper)
//
// Adapters are imported only for their scheme, as discover() does on the client side.
import { type DiscoverOptions, parseDiscoveryUrl } from '@kitts/client';
import { type Instance, MemoryRegistry, type Registrar } from '@kitts/sd';

export interface Registry {
  /** The URL the client passes to discover(). */
  readonly url: string;
  /** What discover() needs besides the URL: the in-process registry, for memory://. */
  readonly discoverOptions: DiscoverOptions;
  registrar(service: string, instance: Instance): Registrar;
  /** Where a registration lives, in the registry's own terms (a key, a node, a catalog entry). */
  locate(service: string, id: string): string;
  /** Releases the registry client (registrars deregister through serve()). */
  close(): Promise<void>;
}

const SCHEMES = 'memory://, etcd://, consul:// or zk://';

export async function openRegistry(url = 'memory://'): Promise<Registry> {
  // The service name only shapes paths; parse once to learn the scheme and hosts.
  const d = parseDiscoveryUrl(url, 'service');
  switch (d.scheme) {
    case 'memory': {
      const memory = new MemoryRegistry();
      return {
        url,
        discoverOptions: { memory },
        registrar: (service, instance) => memory.registrar(service, instance),
        locate: (service, id) => `memory://${service}/${id}`,
        close: async () => memory.close(),
      };
    }
    case 'etcd': {
      const { Etcd3 } = await import('etcd3');
      const { etcdRegistrar } = await import('@kitts/sd-etcd');
      const client = new Etcd3({ hosts: d.hosts });
      const prefix = (service: string) => (parseDiscoveryUrl(url, service) as { prefix: string }).prefix;
      return {
        url,
        discoverOptions: {},
        // A 5 s lease: an instance that dies without deregistering is gone within 5 s.
        registrar: (service, instance) =>
          etcdRegistrar(client, { prefix: prefix(service), instance, ttl: 5 }),
        locate: (service, id) => `etcd key ${prefix(service)}/${id}`,
        close: async () => client.close(),
      };
    }
    case 'consul': {
      const { default: Consul } = await import('consul');
      const { consulRegistrar } = await import('@kitts/sd-consul');
      const consul = new Consul({ host: d.host, port: d.port });
      return {
        url,
        discoverOptions: {},
        registrar: (service, instance) => {
          const { host, port } = splitAddress(instance.address);
          return consulRegistrar(consul, {
            service,
            id: instance.id,
            address: host,
            port,
            ...(instance.meta === undefined ? {} : { meta: instance.meta }),
          });
        },
        locate: (service, id) => `consul service ${service}, id ${id}`,
        close: async () => consul.destroy(),
      };
    }
    case 'zk': {
      const { ZkClient, zkRegistrar } = await import('@kitts/sd-zookeeper');
      const client = new ZkClient(d.connectionString);
      const path = (service: string) => (parseDiscoveryUrl(url, service) as { path: string }).path;
      return {
        url,
        discoverOptions: {},
        registrar: (service, instance) => zkRegistrar(client, { path: path(service), instance }),
        locate: (service, id) => `an ephemeral node under ${path(service)} holding ${id}`,
        close: () => client.close(),
      };
    }
    default:
      throw new Error(`the instances register themselves, so --registry must be ${SCHEMES}; got ${url}`);
  }
}

function splitAddress(address: string): { host: string; port: number } {
  const i = address.lastIndexOf(':');
  return { host: address.slice(0, i), port: Number(address.slice(i + 1)) };
}
