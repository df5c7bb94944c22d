import { type Logger, silentLogger } from '@kitts/endpoint';
import {
  decodeInstance,
  type Instance,
  InstanceBroadcaster,
  type Instancer,
  type InstancerListener,
  SortedInstances,
} from '@kitts/sd';
import zookeeper from 'node-zookeeper-client';
import { isZkError, ZkClient, type ZkClientOptions, ZkClosedError, type ZkEvent } from './client.js';

export interface ZkInstancerOptions {
  /** The parent node whose children are the instances, e.g. `/services/book`. */
  path: string;
  logger?: Logger;
  /** Backoff after a failed read that is not a connection problem (ms); 200 doubling to 5000. */
  retry?: { initial?: number; max?: number };
}

/** Checks and normalizes a ZooKeeper path: absolute, no empty segments, no trailing `/`. */
export function checkPath(path: unknown, who: string): string {
  const p = typeof path === 'string' && path.length > 1 && path.endsWith('/') ? path.slice(0, -1) : path;
  if (typeof p !== 'string' || !/^(\/[^/\s]+)+$/.test(p)) {
    throw new TypeError(
      `kitts/sd-zookeeper: ${who}: path must be an absolute node path such as '/services/book', got ${JSON.stringify(path)}`,
    );
  }
  return p;
}

export function clientOf(
  client: ZkClient | string,
  who: string,
  options?: ZkClientOptions,
): { client: ZkClient; owned: boolean } {
  if (client instanceof ZkClient) return { client, owned: false };
  if (typeof client === 'string') return { client: new ZkClient(client, options), owned: true };
  throw new TypeError(
    `kitts/sd-zookeeper: ${who} needs a ZkClient or a connection string, got ${String(client)}`,
  );
}

const CONNECTION_ERRORS = ['CONNECTION_LOSS', 'SESSION_EXPIRED', 'OPERATION_TIMEOUT'];

/**
 * Follows the children of a node: each child's data is an instance. ZooKeeper watches
 * fire once, so every read re-arms them: the children watch on the parent and a data
 * watch on each child. After a change of children only new children are read; after a
 * reconnect or a new session everything is. While disconnected (or when the session
 * expired) it reports an error event and the last set stays.
 */
export class ZkInstancer implements Instancer {
  readonly path: string;
  private readonly client: ZkClient;
  private readonly owned: boolean;
  private readonly logger: Logger;
  private readonly retry: { initial: number; max: number };
  private readonly broadcaster: InstanceBroadcaster;
  /** Child node name -> its instance, or null when its data is not one. */
  private children = new Map<string, Instance | null>();
  /** The instances of `children`, sorted by id. */
  private readonly sorted = new SortedInstances();
  /** Children whose data changed since they were read. */
  private stale = new Set<string>();
  private running = false;
  private pending: 'none' | 'children' | 'full' = 'none';
  private failures = 0;
  private retryTimer: NodeJS.Timeout | undefined;
  private closed = false;
  private settleReady!: () => void;
  /** Resolves once the first answer is in (a set or an error), or on close. */
  readonly ready: Promise<void> = new Promise((resolve) => {
    this.settleReady = resolve;
  });
  private readonly unsubscribe: () => void;
  // One function per kind: node-zookeeper-client keeps one registration per (path, function).
  private readonly onChildren = () => this.schedule('children');
  private readonly onData = (event: zookeeper.Event) => {
    // Deletions come with the children watch.
    if (event.getType() !== zookeeper.Event.NODE_DATA_CHANGED) return;
    this.stale.add(event.getPath().slice(this.path.length + 1));
    this.schedule('children');
  };
  private readonly onExists = () => this.schedule('full');

  constructor(client: ZkClient | string, options: ZkInstancerOptions) {
    this.path = checkPath(options?.path, 'zkInstancer');
    const { initial = 200, max = 5000 } = options.retry ?? {};
    if (!(initial > 0 && max >= initial))
      throw new RangeError('kitts/sd-zookeeper: zkInstancer: retry needs 0 < initial <= max');
    this.retry = { initial, max };
    this.logger = options.logger ?? silentLogger;
    ({ client: this.client, owned: this.owned } = clientOf(client, 'zkInstancer', { logger: this.logger }));
    this.broadcaster = new InstanceBroadcaster({ logger: this.logger });
    this.unsubscribe = this.client.onEvent((e) => this.onConnection(e));
    if (this.client.state === 'connected') this.schedule('full');
  }

  subscribe(listener: InstancerListener): () => void {
    return this.broadcaster.subscribe(listener);
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    clearTimeout(this.retryTimer);
    this.unsubscribe();
    this.broadcaster.clear();
    this.settleReady();
    // Watches cannot be removed from node-zookeeper-client; when they fire they find us closed.
    if (this.owned) await this.client.close();
  }

  private onConnection(e: ZkEvent): void {
    if (this.closed) return;
    if (e.type !== 'connected') this.settleReady(); // an error event is an answer too
    switch (e.type) {
      case 'connected':
        // A new session has none of our watches; an old one may have missed changes. Read all.
        this.schedule('full');
        break;
      case 'disconnected':
        this.broadcaster.fail(
          new Error(`kitts/sd-zookeeper: connection to ZooKeeper lost while watching ${this.path}`),
        );
        break;
      case 'expired':
        this.broadcaster.fail(
          new Error(`kitts/sd-zookeeper: ZooKeeper session expired while watching ${this.path}`),
        );
        break;
      case 'closed':
        this.broadcaster.fail(new ZkClosedError());
        break;
    }
  }

  /** Runs a read now, or once the running one ends; requests coalesce (a full read covers a partial one). */
  private schedule(kind: 'children' | 'full'): void {
    if (this.closed) return;
    if (this.running) {
      if (this.pending !== 'full') this.pending = kind;
      return;
    }
    this.running = true;
    void this.read(kind === 'full')
      .catch((err: unknown) => this.logger.error({ err }, 'kitts/sd-zookeeper: reading instances failed'))
      .finally(() => {
        this.running = false;
        const next = this.pending;
        this.pending = 'none';
        if (next !== 'none') this.schedule(next);
      });
  }

  private async read(full: boolean): Promise<void> {
    clearTimeout(this.retryTimer);
    this.retryTimer = undefined;
    // Changes marked from here on are for the next read.
    const stale = this.stale;
    this.stale = new Set();
    try {
      let names: string[];
      try {
        names = await this.client.getChildren(this.path, this.onChildren);
      } catch (err) {
        if (!isZkError(err, 'NO_NODE')) throw err;
        // No parent node (yet): no instances. Watch for its creation.
        if (await this.client.exists(this.path, this.onExists)) {
          this.pending = 'full';
          return;
        }
        names = [];
      }
      if (this.closed) return;
      const old = this.children;
      const next = new Map<string, Instance | null>();
      const unread: string[] = [];
      for (const name of names) {
        const known = full || stale.has(name) ? undefined : old.get(name);
        if (known === undefined) unread.push(name);
        else next.set(name, known);
      }
      const data = await Promise.all(unread.map((name) => this.readChild(name)));
      if (this.closed) return;
      unread.forEach((name, i) => {
        const d = data[i];
        if (d !== undefined) next.set(name, d);
      });
      this.children = next;
      if (full) {
        const all: Instance[] = [];
        for (const i of next.values()) if (i !== null) all.push(i);
        this.sorted.reset(all);
      } else {
        // Only what changed: the children that left or were re-read, and the new reads.
        for (const [name, i] of old) if (i !== null && next.get(name) !== i) this.sorted.remove(i);
        for (const name of unread) {
          const i = next.get(name);
          if (i !== undefined && i !== null && old.get(name) !== i) this.sorted.insert(i);
        }
      }
      this.failures = 0;
      this.broadcaster.update(this.sorted.snapshot());
      this.settleReady();
    } catch (err) {
      for (const name of stale) this.stale.add(name);
      if (this.closed || err instanceof ZkClosedError) return;
      // Connection trouble is reported by the connection events, and 'connected' reads again.
      if (CONNECTION_ERRORS.some((c) => isZkError(err, c))) return;
      this.logger.warn({ path: this.path, err }, 'kitts/sd-zookeeper: reading instances failed; will retry');
      this.broadcaster.fail(
        new Error(`kitts/sd-zookeeper: reading ${this.path} failed: ${(err as Error).message}`, {
          cause: err,
        }),
      );
      this.settleReady();
      const base = Math.min(this.retry.max, this.retry.initial * 2 ** Math.min(this.failures++, 30));
      this.retryTimer = setTimeout(() => this.schedule('full'), base / 2 + (Math.random() * base) / 2);
      this.retryTimer.unref();
    }
  }

  /** A child's instance, null for data that is none, undefined when the child is gone. */
  private async readChild(name: string): Promise<Instance | null | undefined> {
    let data: Buffer | null;
    try {
      data = await this.client.getData(`${this.path}/${name}`, this.onData);
    } catch (err) {
      if (isZkError(err, 'NO_NODE')) return undefined; // deleted meanwhile; the children watch tells
      throw err;
    }
    const decoded = decodeInstance(data?.toString('utf8') ?? '');
    if (decoded instanceof Error) {
      this.logger.warn(
        { node: `${this.path}/${name}`, err: decoded },
        'kitts/sd-zookeeper: skipping a node whose data is not an instance',
      );
      return null;
    }
    return decoded;
  }
}

/** An Instancer over the children of `path`. Give it a ZkClient to share, or a connection string. */
export function zkInstancer(client: ZkClient | string, options: ZkInstancerOptions): ZkInstancer {
  return new ZkInstancer(client, options);
}

/**
 * Connects and follows `path` in one call: a ZkClient of its own and a ZkInstancer on
 * it; `close()` closes both.
 */
export function connectInstancer(
  options: ZkInstancerOptions & ZkClientOptions & { connectionString: string },
): { instancer: ZkInstancer; client: ZkClient; close(): Promise<void> } {
  const { connectionString, path, logger, retry, ...clientOptions } = options;
  const client = new ZkClient(connectionString, { ...clientOptions, ...(logger ? { logger } : {}) });
  const instancer = new ZkInstancer(client, {
    path,
    ...(logger ? { logger } : {}),
    ...(retry ? { retry } : {}),
  });
  return {
    instancer,
    client,
    async close() {
      await instancer.close();
      await client.close();
    },
  };
}
