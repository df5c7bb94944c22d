/**
 * An sd Factory for HTTP: one client endpoint per discovered instance. Every factory
 * built on the same PoolSet shares one keep-alive pool per instance address, so the
 * endpoints of several methods reuse the same connections; the pool closes when the
 * last endpoint using it is closed (its instance left every Endpointer).
 */
import type { Factory, FactoryResult, Instance } from '@kitts/sd';
import { type Dispatcher, Pool } from 'undici';
import {
  type ClientOptions,
  createClient,
  type DecodeResponseFunc,
  type EncodeRequestFunc,
} from './client.js';

export interface PoolSetOptions extends Pool.Options {
  /** Scheme for bare `host:port` addresses. Default `http`. */
  scheme?: 'http' | 'https';
}

interface Shared {
  pool: Pool;
  origin: string;
  refs: number;
}

/** A reference to a shared pool; `release()` once, when the endpoint is retired. */
export interface PoolLease {
  readonly dispatcher: Dispatcher;
  /** `http://host:port`, or `http://localhost` for a unix socket. */
  readonly origin: string;
  release(): Promise<void>;
}

/** Reference-counted undici pools keyed by instance address. */
export class PoolSet {
  private readonly pools = new Map<string, Shared>();
  private readonly scheme: 'http' | 'https';
  private readonly poolOptions: Pool.Options;

  constructor(options: PoolSetOptions = {}) {
    const { scheme = 'http', ...poolOptions } = options;
    this.scheme = scheme;
    this.poolOptions = poolOptions;
  }

  /** Throws a TypeError naming the address when it is neither `host:port`, a URL, nor `unix:/path`. */
  acquire(address: string): PoolLease {
    let shared = this.pools.get(address);
    if (shared === undefined) {
      const { origin, socketPath } = parseAddress(address, this.scheme);
      const pool = new Pool(
        origin,
        socketPath === undefined ? this.poolOptions : { ...this.poolOptions, socketPath },
      );
      shared = { pool, origin, refs: 0 };
      this.pools.set(address, shared);
    }
    shared.refs++;
    const s = shared;
    let released = false;
    return {
      dispatcher: s.pool,
      origin: s.origin,
      release: async () => {
        if (released) return;
        released = true;
        if (--s.refs > 0) return;
        if (this.pools.get(address) === s) this.pools.delete(address);
        await s.pool.close(); // lets in-flight requests finish
      },
    };
  }

  /** Addresses with an open pool. */
  get size(): number {
    return this.pools.size;
  }

  /** Close every pool now, whoever holds it (process shutdown). */
  async close(): Promise<void> {
    const all = [...this.pools.values()];
    this.pools.clear();
    await Promise.all(all.map((s) => s.pool.close()));
  }
}

/** The PoolSet factories use unless given one. */
export const defaultPools = new PoolSet();

export interface HttpFactoryOptions extends Omit<ClientOptions, 'dispatcher'> {
  pools?: PoolSet;
}

/**
 * An sd Factory calling `method path` on each instance (`host:port`, `http(s)://host:port`
 * or `unix:/path/to.sock`). The result's `close` releases the instance's pool.
 */
export function httpFactory<Req, Res>(
  method: Dispatcher.HttpMethod,
  path: string,
  encode: EncodeRequestFunc<Req>,
  decode: DecodeResponseFunc<Res>,
  options: HttpFactoryOptions = {},
): Factory<Req, Res> {
  const { pools = defaultPools, ...clientOptions } = options;
  if (!path.startsWith('/'))
    throw new TypeError(`kitts/transport-http: path must start with '/', got ${JSON.stringify(path)}`);
  return (instance: Instance): FactoryResult<Req, Res> => {
    const lease = pools.acquire(instance.address);
    const endpoint = createClient(method, `${lease.origin}${path}`, encode, decode, {
      ...clientOptions,
      dispatcher: lease.dispatcher,
    });
    return { endpoint, close: () => lease.release() };
  };
}

function parseAddress(address: string, scheme: string): { origin: string; socketPath?: string } {
  if (address.startsWith('unix:')) {
    const socketPath = address.slice(address.startsWith('unix://') ? 7 : 5);
    if (!socketPath.startsWith('/')) throw badAddress(address, 'a unix socket path must be absolute');
    // The host is only for the Host header; the socket decides where the bytes go.
    return { origin: 'http://localhost', socketPath };
  }
  const withScheme = address.includes('://') ? address : `${scheme}://${address}`;
  let url: URL;
  try {
    url = new URL(withScheme);
  } catch {
    throw badAddress(address, 'expected host:port, http(s)://host:port or unix:/path');
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:')
    throw badAddress(address, 'only http and https are supported');
  if (url.hostname === '') throw badAddress(address, 'missing host');
  return { origin: url.origin };
}

function badAddress(address: string, why: string): TypeError {
  return new TypeError(
    `kitts/transport-http: cannot call instance address ${JSON.stringify(address)}: ${why}`,
  );
}
