import { promises as dns } from 'node:dns';
import { type Logger, silentLogger } from '@kitts/endpoint';
import { type Instance, InstanceBroadcaster, type Instancer, type InstancerListener } from '@kitts/sd';
import { groupInstances, priorityGroups, type SrvRecord, type TargetAddresses } from './srv.js';

/** What the instancer needs of a resolver; `dns.promises.Resolver` fits (and so does a test fake). */
export interface SrvResolver {
  resolveSrv(name: string): Promise<SrvRecord[]>;
  resolve4?(name: string): Promise<string[]>;
  resolve6?(name: string): Promise<string[]>;
}

export interface DnsSrvInstancerOptions {
  /** Milliseconds between lookups; 30 000 by default. */
  interval?: number;
  /**
   * The resolver to ask, e.g. a `dns.promises.Resolver` with `setServers([...])`. By
   * default a new Resolver on the system's DNS servers (not getaddrinfo: SRV needs DNS).
   */
  resolver?: SrvResolver;
  /**
   * Resolve each SRV target to addresses: 'ipv4' (A), 'ipv6' (AAAA) or 'any' (both).
   * Off by default: the address is then `target:port`, resolved when connecting.
   */
  resolveTargets?: false | 'ipv4' | 'ipv6' | 'any';
  /**
   * What a name that does not exist (NXDOMAIN) or has no SRV records means: 'error'
   * (the default: an error event, the last set stays) or 'empty' (no instances).
   */
  notFound?: 'error' | 'empty';
  logger?: Logger;
}

const NOT_FOUND = new Set(['ENOTFOUND', 'ENODATA']);

/**
 * Follows the SRV records of a name: looks them up at once and then every `interval`
 * ms, and publishes the lowest-priority group that has usable members. SRV weight is
 * Instance.weight; a record with port 0 is skipped on its own; a failed lookup reports
 * an error event and keeps the last set.
 */
export class DnsSrvInstancer implements Instancer {
  readonly name: string;
  private readonly interval: number;
  private readonly resolver: SrvResolver;
  private readonly ownResolver: dns.Resolver | undefined;
  private readonly resolveTargets: false | 'ipv4' | 'ipv6' | 'any';
  private readonly notFound: 'error' | 'empty';
  private readonly logger: Logger;
  private readonly broadcaster: InstanceBroadcaster;
  private timer: NodeJS.Timeout | undefined;
  private inflight: Promise<void> | undefined;
  private closed = false;
  private settleReady!: () => void;
  /** Resolves once the first answer is in (a set or an error), or on close. */
  readonly ready: Promise<void> = new Promise((resolve) => {
    this.settleReady = resolve;
  });

  constructor(name: string, options: DnsSrvInstancerOptions = {}) {
    if (typeof name !== 'string' || !/^[^\s]+$/.test(name.trim()) || name.trim() === '.') {
      throw new TypeError(
        `kitts/sd-dns: dnsSrvInstancer needs a DNS name such as '_api._tcp.example.com', got ${JSON.stringify(name)}`,
      );
    }
    const { interval = 30_000, resolveTargets = false, notFound = 'error' } = options;
    if (!(Number.isFinite(interval) && interval > 0)) {
      throw new RangeError(`kitts/sd-dns: interval must be a positive number of ms, got ${interval}`);
    }
    if (![false, 'ipv4', 'ipv6', 'any'].includes(resolveTargets)) {
      throw new TypeError(
        `kitts/sd-dns: resolveTargets must be false, 'ipv4', 'ipv6' or 'any', got ${String(resolveTargets)}`,
      );
    }
    if (notFound !== 'error' && notFound !== 'empty') {
      throw new TypeError(`kitts/sd-dns: notFound must be 'error' or 'empty', got ${String(notFound)}`);
    }
    if (options.resolver !== undefined && typeof options.resolver.resolveSrv !== 'function') {
      throw new TypeError('kitts/sd-dns: resolver must have resolveSrv(name) (a dns.promises.Resolver does)');
    }
    this.name = name.trim();
    this.interval = interval;
    this.resolveTargets = resolveTargets;
    this.notFound = notFound;
    this.logger = options.logger ?? silentLogger;
    this.ownResolver = options.resolver === undefined ? new dns.Resolver() : undefined;
    this.resolver = options.resolver ?? this.ownResolver!;
    if (resolveTargets === 'ipv4' || resolveTargets === 'any') this.need('resolve4');
    if (resolveTargets === 'ipv6' || resolveTargets === 'any') this.need('resolve6');
    this.broadcaster = new InstanceBroadcaster({ logger: this.logger });
    void this.refresh();
  }

  subscribe(listener: InstancerListener): () => void {
    return this.broadcaster.subscribe(listener);
  }

  /**
   * Looks the name up now (joining a lookup already running) and restarts the interval.
   * Never rejects: a failure becomes an error event.
   */
  refresh(): Promise<void> {
    if (this.closed) return Promise.resolve();
    this.inflight ??= this.lookup()
      .catch((err: Error) => this.fail(err))
      .finally(() => {
        this.inflight = undefined;
        this.settleReady();
        if (this.closed) return;
        clearTimeout(this.timer);
        this.timer = setTimeout(() => void this.refresh(), this.interval);
        // Discovery alone should not keep a process alive.
        this.timer.unref();
      });
    return this.inflight;
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    clearTimeout(this.timer);
    this.broadcaster.clear();
    this.settleReady();
    // Our own resolver's queries can be cancelled. A caller's resolver is left alone
    // (cancel() would end its other queries too): a lookup in flight then runs out by
    // itself, within the resolver's timeout, and its answer is ignored.
    if (this.ownResolver !== undefined) {
      this.ownResolver.cancel();
      await this.inflight;
    }
  }

  private async lookup(): Promise<void> {
    let records: SrvRecord[];
    try {
      records = await this.resolver.resolveSrv(this.name);
    } catch (err) {
      if (this.closed) return;
      const code = (err as { code?: string }).code ?? '';
      if (this.notFound === 'empty' && NOT_FOUND.has(code)) {
        this.broadcaster.update([]);
        return;
      }
      this.fail(err as Error);
      return;
    }
    if (this.closed) return;
    const { groups, portZero } = priorityGroups(records);
    if (portZero > 0)
      this.logger.debug({ name: this.name, portZero }, 'kitts/sd-dns: skipped records with port 0');
    if (this.resolveTargets === false) {
      this.broadcaster.update(groups.length > 0 ? groupInstances(groups[0]!) : []);
      return;
    }
    // A group whose targets all fail to resolve has no usable member: try the next one.
    let lastError: Error | undefined;
    for (const group of groups) {
      const addresses = new Map<string, TargetAddresses>();
      await Promise.all(
        [...new Set(group.map((r) => r.name))].map(async (target) => {
          try {
            addresses.set(target, await this.addressesOf(target));
          } catch (err) {
            lastError = err as Error;
            this.logger.warn(
              { name: this.name, target, err },
              'kitts/sd-dns: resolving an SRV target failed',
            );
          }
        }),
      );
      if (this.closed) return;
      const instances: Instance[] = groupInstances(group, addresses);
      if (instances.length > 0) {
        this.broadcaster.update(instances);
        return;
      }
    }
    if (lastError !== undefined) this.fail(lastError);
    else this.broadcaster.update([]);
  }

  private async addressesOf(target: string): Promise<string[]> {
    const v4 = this.resolveTargets === 'ipv4' || this.resolveTargets === 'any';
    const v6 = this.resolveTargets === 'ipv6' || this.resolveTargets === 'any';
    const [a, aaaa] = await Promise.allSettled([
      v4 ? this.resolver.resolve4!(target) : Promise.resolve([]),
      v6 ? this.resolver.resolve6!(target) : Promise.resolve([]),
    ]);
    const found = [
      ...(a.status === 'fulfilled' ? a.value : []),
      ...(aaaa.status === 'fulfilled' ? aaaa.value : []),
    ];
    // With 'any', one family missing is normal; only both failing is an error.
    if (found.length === 0) {
      const failed = [a, aaaa].find((r): r is PromiseRejectedResult => r.status === 'rejected');
      if (failed !== undefined) throw failed.reason;
    }
    return found;
  }

  private fail(err: Error): void {
    const code = (err as { code?: string }).code;
    this.logger.warn({ name: this.name, err }, 'kitts/sd-dns: SRV lookup failed; keeping the last set');
    this.broadcaster.fail(
      new Error(`kitts/sd-dns: looking up ${this.name} failed${code ? ` (${code})` : ''}`, { cause: err }),
    );
  }

  private need(method: 'resolve4' | 'resolve6'): void {
    if (typeof this.resolver[method] !== 'function') {
      throw new TypeError(`kitts/sd-dns: resolveTargets needs a resolver with ${method}()`);
    }
  }
}

/** An Instancer over the SRV records of `name`. See {@link DnsSrvInstancer}. */
export function dnsSrvInstancer(name: string, options?: DnsSrvInstancerOptions): DnsSrvInstancer {
  return new DnsSrvInstancer(name, options);
}
