// With --registry, the instances register themselves (addresses in protocol@address form)
// and the client discovers them, instead of reading a fixed list:
//
//   memory://                          an in-process MemoryRegistry
//   etcd://127.0.0.1:2379/services     keys /services/arith/<id> (@kitts/sd-etcd)
//   zk://127.0.0.1:2181/services       ephemeral nodes under /services/arith (@kitts/sd-zookeeper)
//
// Consul is not offered: its catalog keeps an IP and a port, with no room for a protocol
// or a unix socket path.
import { discover, parseDiscoveryUrl } from '@kitts/client';
import { type Instance, type Instancer, MemoryRegistry, type Registrar } from '@kitts/sd';

export interface Registry {
  readonly url: string;
  registrar(service: string, instance: Instance): Registrar;
  instancer(service: string): Instancer;
  close(): Promise<void>;
}

export async function openRegistry(url: string): Promise<Registry> {
  const d = parseDiscoveryUrl(url, 'service');
  switch (d.scheme) {
    case 'memory': {
      const memory = new MemoryRegistry();
      return {
        url,
        registrar: (service, instance) => memory.registrar(service, instance),
        instancer: (service) => discover(url, service, { memory }),
        close: async () => memory.close(),
      };
    }
    case 'etcd': {
      const { Etcd3 } = await import('etcd3');
      const { etcdRegistrar } = await import('@kitts/sd-etcd');
      const client = new Etcd3({ hosts: d.hosts });
      return {
        url,
        registrar: (service, instance) =>
          etcdRegistrar(client, {
            prefix: (parseDiscoveryUrl(url, service) as { prefix: string }).prefix,
            instance,
            ttl: 5,
          }),
        instancer: (service) => discover(url, service),
        close: async () => client.close(),
      };
    }
    case 'zk': {
      const { ZkClient, zkRegistrar } = await import('@kitts/sd-zookeeper');
      const client = new ZkClient(d.connectionString);
      return {
        url,
        registrar: (service, instance) =>
          zkRegistrar(client, { path: (parseDiscoveryUrl(url, service) as { path: string }).path, instance }),
        instancer: (service) => discover(url, service),
        close: () => client.close(),
      };
    }
    default:
      throw new Error(
        `--registry must be memory://, etcd:// or zk:// (a registry that can hold protocol@address); got ${url}`,
      );
  }
}
