import { randomUUID } from 'node:crypto';
import { type Logger, silentLogger } from '@kitts/endpoint';
import { checkInstance, encodeInstance, type Instance, type Registrar } from '@kitts/sd';
import zookeeper from 'node-zookeeper-client';
import { isZkError, type ZkClient, type ZkEvent } from './client.js';
import { checkPath, clientOf } from './instancer.js';

export interface ZkRegistrarOptions {
  /** The parent node, e.g. `/services/book`; created (with its parents) when missing. */
  path: string;
  instance: Instance;
  logger?: Logger;
  /** Backoff for creating the node again after a failure (ms); 200 doubling to 5000. */
  retry?: { initial?: number; max?: number };
}

/**
 * Registers one instance as an ephemeral sequential child of `path`, holding the
 * instance as JSON. The node lives as long as the session: when the session expires
 * (the process was cut off longer than the session timeout) the node is gone, and the
 * registrar creates it again in the new session. `deregister()` deletes exactly its own
 * node (go-kit deleted the parent). A process that dies disappears after the session
 * timeout.
 */
export class ZkRegistrar implements Registrar {
  readonly path: string;
  readonly instance: Instance;
  private readonly client: ZkClient;
  private readonly owned: boolean;
  private readonly data: Buffer;
  /**
   * A prefix unique to this registrar. If the connection drops while a create is in
   * flight, the node may exist without our knowing its name: we find it by this prefix
   * instead of creating a second one (Curator's "protected" mode).
   */
  private readonly marker: string;
  private readonly logger: Logger;
  private readonly retry: { initial: number; max: number };
  private current: string | undefined;
  private wanted = false;
  private pending: Promise<void> | undefined;
  private failures = 0;
  private retryTimer: NodeJS.Timeout | undefined;
  private unsubscribe: (() => void) | undefined;
  private closed = false;

  constructor(client: ZkClient | string, options: ZkRegistrarOptions) {
    this.path = checkPath(options?.path, 'zkRegistrar');
    const instance = checkInstance(options.instance);
    if (instance instanceof Error)
      throw new TypeError(`kitts/sd-zookeeper: zkRegistrar: ${instance.message}`);
    const { initial = 200, max = 5000 } = options.retry ?? {};
    if (!(initial > 0 && max >= initial))
      throw new RangeError('kitts/sd-zookeeper: zkRegistrar: retry needs 0 < initial <= max');
    this.retry = { initial, max };
    this.instance = instance;
    this.data = Buffer.from(encodeInstance(instance));
    this.marker = `${encodeURIComponent(instance.id).replace(/\./g, '%2E')}.${randomUUID()}-`;
    this.logger = options.logger ?? silentLogger;
    ({ client: this.client, owned: this.owned } = clientOf(client, 'zkRegistrar', { logger: this.logger }));
  }

  /** The full path of our node while registered, e.g. `/services/book/api-1.<uuid>-0000000007`. */
  get node(): string | undefined {
    return this.current;
  }

  /** Creates the node (and missing parents); rejects if ZooKeeper refuses. */
  async register(): Promise<void> {
    if (this.closed) throw new Error('kitts/sd-zookeeper: this registrar is closed');
    this.wanted = true;
    this.unsubscribe ??= this.client.onEvent((e) => this.onConnection(e));
    if (this.current !== undefined) return;
    try {
      await this.establish();
    } catch (err) {
      // A registration that never happened is not retried behind the caller's back.
      if (this.current === undefined) this.wanted = false;
      throw err;
    }
  }

  /** Deletes our node, and only ours. Stops re-registering. */
  async deregister(): Promise<void> {
    this.wanted = false;
    clearTimeout(this.retryTimer);
    this.retryTimer = undefined;
    this.unsubscribe?.();
    this.unsubscribe = undefined;
    await this.pending?.catch(() => {});
    const node = this.current;
    this.current = undefined;
    if (node === undefined) return;
    try {
      await this.client.remove(node);
    } catch (err) {
      if (!isZkError(err, 'NO_NODE')) throw err;
    }
  }

  /** deregister(), then close the client if this registrar created it. */
  async close(): Promise<void> {
    if (this.closed) return;
    try {
      await this.deregister();
    } finally {
      this.closed = true;
      if (this.owned) await this.client.close();
    }
  }

  private onConnection(e: ZkEvent): void {
    if (!this.wanted) return;
    if (e.type === 'expired') {
      // Our ephemeral node went with the session.
      this.current = undefined;
    } else if (e.type === 'connected' && e.newSession && this.current !== undefined) {
      this.current = undefined;
      this.again(0);
    } else if (e.type === 'connected' && this.current === undefined && this.pending === undefined) {
      this.again(0);
    }
  }

  private establish(): Promise<void> {
    this.pending ??= this.create().finally(() => {
      this.pending = undefined;
    });
    return this.pending;
  }

  private async create(): Promise<void> {
    await this.client.mkdirp(this.path);
    let node: string;
    try {
      node = await this.client.create(
        `${this.path}/${this.marker}`,
        this.data,
        zookeeper.CreateMode.EPHEMERAL_SEQUENTIAL,
      );
    } catch (err) {
      if (!isZkError(err, 'CONNECTION_LOSS')) throw err;
      // The create may have happened: look for our marker once connected again.
      await this.client.connected();
      const mine = (await this.client.getChildren(this.path)).find((c) => c.startsWith(this.marker));
      if (mine === undefined) throw err;
      node = `${this.path}/${mine}`;
    }
    if (!this.wanted) {
      await this.client.remove(node).catch(() => {});
      return;
    }
    this.current = node;
    this.failures = 0;
    this.logger.info({ node }, 'kitts/sd-zookeeper: registered');
  }

  private again(delay: number): void {
    clearTimeout(this.retryTimer);
    this.retryTimer = setTimeout(() => {
      this.retryTimer = undefined;
      if (!this.wanted || this.current !== undefined) return;
      this.establish().catch((err: Error) => {
        this.logger.warn(
          { path: this.path, err },
          'kitts/sd-zookeeper: registering again failed; will retry',
        );
        const base = Math.min(this.retry.max, this.retry.initial * 2 ** Math.min(this.failures++, 30));
        if (this.wanted) this.again(base / 2 + (Math.random() * base) / 2);
      });
    }, delay);
    this.retryTimer.unref();
  }
}

/** A Registrar for one instance under `path`. Give it a ZkClient to share, or a connection string. */
export function zkRegistrar(client: ZkClient | string, options: ZkRegistrarOptions): ZkRegistrar {
  return new ZkRegistrar(client, options);
}
