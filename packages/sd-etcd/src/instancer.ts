import { type Logger, silentLogger } from '@kitts/endpoint';
import {
  decodeInstance,
  type Instance,
  InstanceBroadcaster,
  type Instancer,
  type InstancerListener,
  SortedInstances,
} from '@kitts/sd';
import {
  ClientClosedError,
  type Etcd3,
  type IKeyValue,
  type IWatchResponse,
  type Namespace,
  type Watcher,
} from 'etcd3';
import { checkRetry, delayFor, type RetryOptions } from './backoff.js';
import { type EtcdClientInput, resolveClient } from './client.js';

export interface EtcdInstancerOptions {
  /**
   * The directory the instances live under, e.g. `/services/book`. Matched as a
   * directory: a trailing `/` is added, so `/services/bookstore/x` is not in it.
   */
  prefix: string;
  logger?: Logger;
  /** Backoff for re-listing after a failure (ms); 200 doubling to 5000 by default. */
  retry?: RetryOptions;
}

/** Normalizes a prefix to a directory: non-empty, ends with exactly one `/`. */
export function directoryOf(prefix: unknown, who: string): string {
  if (typeof prefix !== 'string' || prefix.trim() === '' || prefix.trim() === '/') {
    throw new TypeError(`kitts/sd-etcd: ${who}: prefix must be a non-empty path such as '/services/book'`);
  }
  return prefix.endsWith('/') ? prefix : `${prefix}/`;
}

/**
 * Follows the instances under an etcd prefix. It lists the prefix once, then applies the
 * watch's deltas to the known set (no re-read per event) and re-lists only when the
 * watch cannot be trusted: after a watch error (a compaction overtook it), after a
 * reconnect, or after a failed list. While etcd is unreachable it reports an error
 * event and the last set stays.
 */
export class EtcdInstancer implements Instancer {
  readonly prefix: string;
  private readonly client: Namespace;
  private readonly owned: Etcd3 | undefined;
  private readonly logger: Logger;
  private readonly retry: Required<RetryOptions>;
  private readonly broadcaster: InstanceBroadcaster;
  /** Key -> instance for every valid key under the prefix. */
  private known = new Map<string, Instance>();
  /** The same instances, sorted by id. */
  private readonly sorted = new SortedInstances();
  private watcher: Watcher | undefined;
  private readonly cancelling = new Set<Promise<void>>();
  private syncing = false;
  private again = false;
  private disconnected = false;
  private failures = 0;
  private retryTimer: NodeJS.Timeout | undefined;
  private closed = false;
  private settleReady!: () => void;
  /** Resolves once the first answer is in (a set or an error), or on close. */
  readonly ready: Promise<void> = new Promise((resolve) => {
    this.settleReady = resolve;
  });

  constructor(client: EtcdClientInput, options: EtcdInstancerOptions) {
    this.prefix = directoryOf(options?.prefix, 'etcdInstancer');
    this.retry = checkRetry('etcdInstancer', options.retry);
    this.logger = options.logger ?? silentLogger;
    ({ client: this.client, owned: this.owned } = resolveClient(client, 'etcdInstancer'));
    this.broadcaster = new InstanceBroadcaster({ logger: this.logger });
    this.resync();
  }

  subscribe(listener: InstancerListener): () => void {
    return this.broadcaster.subscribe(listener);
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    clearTimeout(this.retryTimer);
    this.settleReady();
    this.broadcaster.clear();
    const w = this.watcher;
    this.watcher = undefined;
    if (w !== undefined) this.cancel(w);
    // A cancel waits for etcd's answer; a hung connection must not hang close().
    await settleWithin([...this.cancelling], 2000);
    if (this.owned !== undefined) this.owned.close();
  }

  /** Lists again and starts a fresh watch; concurrent requests coalesce into one more run. */
  private resync(): void {
    if (this.closed) return;
    clearTimeout(this.retryTimer);
    this.retryTimer = undefined;
    if (this.syncing) {
      this.again = true;
      return;
    }
    this.syncing = true;
    void this.sync()
      .catch((err: Error) => this.onFailure(err, 'listing'))
      .finally(() => {
        this.syncing = false;
        if (this.again) {
          this.again = false;
          this.resync();
        }
      });
  }

  private async sync(): Promise<void> {
    const old = this.watcher;
    this.watcher = undefined;
    if (old !== undefined) this.cancel(old);
    let revision: bigint;
    try {
      const res = await this.client.getAll().prefix(this.prefix).exec();
      if (this.closed) return;
      const known = new Map<string, Instance>();
      for (const kv of res.kvs) {
        const instance = this.decode(kv);
        if (instance !== undefined) known.set(kv.key.toString('utf8'), instance);
      }
      this.known = known;
      this.sorted.reset(known.values());
      revision = BigInt(res.header.revision);
    } catch (err) {
      if (this.closed) return;
      this.onFailure(err as Error, 'listing');
      return;
    }
    this.failures = 0;
    this.publish();
    this.settleReady();
    // Start right after the listing's revision: no event is lost or applied twice.
    // watcher() rather than create(): create() resolves only once connected, and a watch
    // we cannot reach could not be cancelled on close().
    const w = this.client
      .watch()
      .prefix(this.prefix)
      .startRevision(String(revision + 1n))
      .watcher();
    this.watcher = w;
    w.on('data', (res: IWatchResponse) => {
      if (w === this.watcher) this.apply(res);
    });
    w.on('disconnected', (err: Error) => {
      if (w !== this.watcher) return;
      this.disconnected = true;
      this.onFailure(err, 'watching');
    });
    w.on('connected', () => {
      if (w !== this.watcher || !this.disconnected) return;
      this.disconnected = false;
      // Events may have been missed (or the server restored from elsewhere): re-list.
      this.logger.info({ prefix: this.prefix }, 'kitts/sd-etcd: watch reconnected; re-listing');
      this.resync();
    });
    w.on('error', (err: Error) => {
      if (w !== this.watcher) return;
      // etcd cancels a watch whose start revision was compacted away (etcd3 does not pass
      // on the compact revision, so this cannot tell it from other cancels): re-list.
      this.logger.info({ prefix: this.prefix, err }, 'kitts/sd-etcd: watch canceled by etcd; re-listing');
      this.resync();
    });
  }

  private apply(res: IWatchResponse): void {
    if (res.events.length === 0) return; // a progress notification
    let changed = false;
    for (const ev of res.events) {
      const key = ev.kv.key.toString('utf8');
      const old = this.known.get(key);
      // A bad value replaces whatever the key held before: that instance is gone.
      const next = ev.type === 'Delete' ? undefined : this.decode(ev.kv);
      if (old === undefined && next === undefined) continue;
      if (old !== undefined) this.sorted.remove(old);
      if (next === undefined) {
        this.known.delete(key);
      } else {
        this.known.set(key, next);
        this.sorted.insert(next);
      }
      changed = true;
    }
    if (changed) this.publish();
  }

  /** The instance a key holds, or undefined (logged) when it holds none. */
  private decode(kv: IKeyValue): Instance | undefined {
    const key = kv.key.toString('utf8');
    const suffix = key.slice(this.prefix.length);
    if (suffix === '' || !key.startsWith(this.prefix)) return undefined;
    const decoded = decodeInstance(kv.value.toString('utf8'), suffix);
    if (decoded instanceof Error) {
      this.logger.warn({ key, err: decoded }, 'kitts/sd-etcd: skipping a key whose value is not an instance');
      return undefined;
    }
    return decoded;
  }

  private publish(): void {
    this.broadcaster.update(this.sorted.snapshot());
  }

  private onFailure(err: Error, during: string): void {
    this.logger.warn({ prefix: this.prefix, err }, `kitts/sd-etcd: ${during} failed; keeping the last set`);
    this.broadcaster.fail(
      new Error(`kitts/sd-etcd: etcd unavailable while ${during} ${this.prefix}`, { cause: err }),
    );
    this.settleReady();
    if (err instanceof ClientClosedError) return; // the user closed the client: nothing will come back
    // Our own retry: the client's watch backoff grows to 30 s; a listing that works
    // also re-attaches the watch at once.
    if (this.retryTimer !== undefined) return;
    const delay = delayFor(this.failures++, this.retry);
    this.retryTimer = setTimeout(() => {
      this.retryTimer = undefined;
      this.resync();
    }, delay);
    this.retryTimer.unref();
  }

  private cancel(w: Watcher): void {
    const p = w
      .cancel()
      .catch((err: unknown) => this.logger.debug({ err }, 'kitts/sd-etcd: cancelling a watch failed'))
      .finally(() => this.cancelling.delete(p));
    this.cancelling.add(p);
  }
}

/** Waits for `promises` (which never reject), but no longer than `ms`. */
export async function settleWithin(promises: readonly Promise<unknown>[], ms: number): Promise<void> {
  if (promises.length === 0) return;
  let timer: NodeJS.Timeout | undefined;
  await Promise.race([
    Promise.all(promises),
    new Promise<void>((resolve) => {
      timer = setTimeout(resolve, ms);
    }),
  ]);
  clearTimeout(timer);
}

/** An Instancer over the instances under `prefix` in etcd. See {@link EtcdInstancer}. */
export function etcdInstancer(client: EtcdClientInput, options: EtcdInstancerOptions): EtcdInstancer {
  return new EtcdInstancer(client, options);
}
