/**
 * discover(url, service): an Instancer from a registry URL. Adapters are imported only
 * when their scheme is used, so a user installs only the adapter packages they use.
 *
 *   memory://                      the process's default MemoryRegistry (or options.memory)
 *   static://host:port,host:port   a fixed list
 *   etcd://host:port[,host:port]/prefix            instances under <prefix>/<service>/ (default /services)
 *   consul://host:port[?tag=a&tag=b&dc=dc1&passing=false]
 *   zk://host:port[,host:port]/path                children of <path>/<service> (default /services)
 *   dns+srv://name  or  dns+srv://server:port/name [?interval=ms]
 *   eureka://host:port/eureka[?interval=ms]        (eurekas:// for https)
 */
import { type Logger, silentLogger } from '@kitts/endpoint';
import {
  FixedInstancer,
  InstanceBroadcaster,
  type Instancer,
  type InstancerListener,
  MemoryRegistry,
} from '@kitts/sd';

/** The registry `memory://` URLs use unless `options.memory` names another. */
export const defaultRegistry = new MemoryRegistry();

export interface DiscoverOptions {
  memory?: MemoryRegistry;
  logger?: Logger;
  /**
   * More etcd3 client options for `etcd://` (TLS `credentials`, `auth`, `dialTimeout`,
   * `grpcOptions`...); the hosts come from the URL. A URL cannot carry credentials.
   */
  etcd?: Record<string, unknown>;
}

export type Discovery =
  | { scheme: 'memory' }
  | { scheme: 'static'; addresses: string[] }
  | { scheme: 'etcd'; hosts: string[]; prefix: string }
  | {
      scheme: 'consul';
      host: string;
      port: number;
      tags: string[];
      datacenter?: string;
      passingOnly: boolean;
    }
  | { scheme: 'zk'; connectionString: string; path: string }
  | { scheme: 'dns+srv'; name: string; server?: string; interval?: number }
  | { scheme: 'eureka'; url: string; interval?: number };

const SCHEMES = 'memory, static, etcd, consul, zk, dns+srv, eureka';
const KNOWN = new Set(['memory', 'static', 'etcd', 'consul', 'zk', 'dns+srv', 'eureka', 'eurekas']);

/** Parse a registry URL; throws an Error naming the scheme and what is wrong. */
export function parseDiscoveryUrl(url: string, service: string): Discovery {
  if (typeof url !== 'string') throw new TypeError('kitts/client: a discovery URL must be a string');
  const m = /^([a-z][a-z0-9+.-]*):\/\/(.*)$/i.exec(url.trim());
  if (m === null)
    throw new Error(
      `kitts/client: ${JSON.stringify(url)} is not a discovery URL (scheme://...); schemes: ${SCHEMES}`,
    );
  const scheme = m[1]!.toLowerCase();
  const rest = m[2]!;
  const bad = (why: string) => new Error(`kitts/client: bad ${scheme}:// URL ${JSON.stringify(url)}: ${why}`);
  const [authorityAndPath, query = ''] = splitOnce(rest, '?');
  const [authority, path = ''] = splitOnce(authorityAndPath, '/');
  const params = new URLSearchParams(query);
  if (!KNOWN.has(scheme)) {
    throw new Error(
      `kitts/client: unknown discovery scheme "${scheme}" in ${JSON.stringify(url)}; use one of ${SCHEMES}`,
    );
  }
  const hosts = authority === '' ? [] : authority.split(',').map((h) => h.trim());
  // dns+srv://name has a bare name where the others have host:port.
  const namesOnly = scheme === 'static' || scheme === 'memory' || (scheme === 'dns+srv' && path === '');
  for (const h of hosts) {
    if (!namesOnly && !/^[^\s:/]+:\d{1,5}$/.test(h))
      throw bad(`expected host:port, got ${JSON.stringify(h)}`);
  }
  const dir = (p: string) => `/${p.replace(/^\/+|\/+$/g, '') || 'services'}/${service}`;
  const interval = () => {
    const v = params.get('interval');
    if (v === null) return undefined;
    const n = Number(v);
    if (!(Number.isFinite(n) && n > 0))
      throw bad(`interval must be a positive number of ms, got ${JSON.stringify(v)}`);
    return n;
  };

  switch (scheme) {
    case 'memory':
      return { scheme };
    case 'static': {
      const addresses = authorityAndPath
        .split(',')
        .map((a) => a.trim())
        .filter((a) => a !== '');
      if (addresses.length === 0) throw bad('list at least one host:port');
      return { scheme, addresses };
    }
    case 'etcd':
      if (hosts.length === 0) throw bad('expected etcd://host:port/prefix');
      return { scheme, hosts: hosts.map((h) => `http://${h}`), prefix: dir(path) };
    case 'consul': {
      if (hosts.length !== 1) throw bad('expected consul://host:port (one agent)');
      const [host, port] = splitOnce(hosts[0]!, ':');
      const dc = params.get('dc');
      return {
        scheme,
        host,
        port: Number(port),
        tags: params.getAll('tag'),
        passingOnly: params.get('passing') !== 'false',
        ...(dc === null ? {} : { datacenter: dc }),
      };
    }
    case 'zk':
      if (hosts.length === 0) throw bad('expected zk://host:port/path');
      return { scheme, connectionString: hosts.join(','), path: dir(path) };
    case 'dns+srv': {
      const iv = interval();
      if (path === '') {
        if (authority === '') throw bad('expected dns+srv://name or dns+srv://server:port/name');
        return { scheme, name: authority, ...(iv === undefined ? {} : { interval: iv }) };
      }
      if (hosts.length !== 1) throw bad('expected one DNS server as host:port');
      return { scheme, name: path, server: hosts[0]!, ...(iv === undefined ? {} : { interval: iv }) };
    }
    case 'eureka':
    case 'eurekas': {
      if (hosts.length !== 1) throw bad('expected eureka://host:port/eureka');
      const iv = interval();
      const proto = scheme === 'eurekas' ? 'https' : 'http';
      return {
        scheme: 'eureka',
        url: `${proto}://${hosts[0]}/${path.replace(/\/+$/, '')}`,
        ...(iv === undefined ? {} : { interval: iv }),
      };
    }
    default:
      throw new Error(
        `kitts/client: unknown discovery scheme "${scheme}" in ${JSON.stringify(url)}; use one of ${SCHEMES}`,
      );
  }
}

/**
 * An Instancer for `service` from a registry URL. It is returned at once; a registry
 * adapter is loaded in the background (until then subscribers see no instances), and a
 * missing adapter package shows as an error event naming the package to install.
 */
export function discover(url: string, service: string, options: DiscoverOptions = {}): Instancer {
  const d = parseDiscoveryUrl(url, service);
  const logger = options.logger ?? silentLogger;
  if (d.scheme === 'memory') return (options.memory ?? defaultRegistry).instancer(service);
  if (d.scheme === 'static') return new FixedInstancer(d.addresses);
  return new LazyInstancer(() => load(d, service, logger, options), logger);
}

interface Loaded {
  instancer: Instancer;
  close(): Promise<void>;
}

async function load(
  d: Discovery,
  service: string,
  logger: Logger,
  options: DiscoverOptions,
): Promise<Loaded> {
  switch (d.scheme) {
    case 'etcd': {
      const { etcdInstancer } = await adapter(() => import('@kitts/sd-etcd'), '@kitts/sd-etcd etcd3');
      const instancer = etcdInstancer({ ...options.etcd, hosts: d.hosts }, { prefix: d.prefix, logger });
      return { instancer, close: () => instancer.close() };
    }
    case 'consul': {
      const { consulInstancer } = await adapter(() => import('@kitts/sd-consul'), '@kitts/sd-consul consul');
      const { default: Consul } = await adapter(() => import('consul'), 'consul');
      // Our own keep-alive agent, so that close() can destroy its idle sockets (the
      // client's destroy() only reaches an agent it was given).
      const { Agent } = await import('node:http');
      const agent = new Agent({ keepAlive: true });
      const client = new Consul({ host: d.host, port: d.port, agent });
      const instancer = consulInstancer(client, {
        service,
        tags: d.tags,
        passingOnly: d.passingOnly,
        ...(d.datacenter === undefined ? {} : { datacenter: d.datacenter }),
        logger,
      });
      return {
        instancer,
        close: async () => {
          await instancer.close();
          client.destroy();
        },
      };
    }
    case 'zk': {
      const zk = await adapter(() => import('@kitts/sd-zookeeper'), '@kitts/sd-zookeeper');
      return zk.connectInstancer({ connectionString: d.connectionString, path: d.path, logger });
    }
    case 'dns+srv': {
      const { dnsSrvInstancer } = await adapter(() => import('@kitts/sd-dns'), '@kitts/sd-dns');
      const { Resolver } = await import('node:dns/promises');
      let resolver: InstanceType<typeof Resolver> | undefined;
      if (d.server !== undefined) {
        resolver = new Resolver();
        resolver.setServers([d.server]);
      }
      const instancer = dnsSrvInstancer(d.name, {
        ...(resolver === undefined ? {} : { resolver }),
        ...(d.interval === undefined ? {} : { interval: d.interval }),
        logger,
      });
      return { instancer, close: () => instancer.close() };
    }
    case 'eureka': {
      const { eurekaInstancer } = await adapter(() => import('@kitts/sd-eureka'), '@kitts/sd-eureka');
      const instancer = eurekaInstancer({
        url: d.url,
        app: service,
        ...(d.interval === undefined ? {} : { interval: d.interval }),
        logger,
      });
      return { instancer, close: () => instancer.close() };
    }
    default:
      throw new Error(`kitts/client: ${d.scheme}:// needs no adapter`);
  }
}

async function adapter<T>(importer: () => Promise<T>, packages: string): Promise<T> {
  try {
    return await importer();
  } catch (err) {
    const code = (err as { code?: string }).code;
    if (code === 'ERR_MODULE_NOT_FOUND' || code === 'MODULE_NOT_FOUND') {
      throw new Error(
        `kitts/client: this registry URL needs ${packages.split(' ').join(' and ')}: npm install ${packages}`,
        {
          cause: err,
        },
      );
    }
    throw err;
  }
}

/** An Instancer that forwards a real one loaded asynchronously. */
class LazyInstancer implements Instancer {
  private readonly broadcaster: InstanceBroadcaster;
  private loaded: Loaded | undefined;
  private closed = false;
  private off: (() => void) | undefined;
  readonly ready: Promise<void>;

  constructor(loader: () => Promise<Loaded>, logger: Logger) {
    this.broadcaster = new InstanceBroadcaster({ logger });
    this.ready = loader().then(
      (l) => {
        if (this.closed) return l.close();
        this.loaded = l;
        this.off = l.instancer.subscribe((e) => {
          if (e.error !== undefined) this.broadcaster.fail(e.error);
          else this.broadcaster.update(e.instances);
        });
      },
      (err: unknown) => {
        const error = err instanceof Error ? err : new Error(String(err));
        logger.error({ err: error }, error.message);
        this.broadcaster.fail(error);
      },
    );
  }

  subscribe(listener: InstancerListener): () => void {
    return this.broadcaster.subscribe(listener);
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.broadcaster.clear();
    await this.ready;
    this.off?.();
    await this.loaded?.close();
  }
}

function splitOnce(s: string, sep: string): [string, string | undefined] {
  const i = s.indexOf(sep);
  return i < 0 ? [s, undefined] : [s.slice(0, i), s.slice(i + sep.length)];
}
