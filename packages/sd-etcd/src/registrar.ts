import { type Logger, silentLogger } from '@kitts/endpoint';
import { checkInstance, encodeInstance, type Instance, type Registrar } from '@kitts/sd';
import type { Etcd3, Lease, Namespace } from 'etcd3';
import { checkRetry, delayFor, type RetryOptions } from './backoff.js';
import { type EtcdClientInput, resolveClient } from './client.js';
import { directoryOf } from './instancer.js';

export interface EtcdRegistrarOptions {
  /** The directory to register under; the key is `prefix/` + `instance.id`. */
  prefix: string;
  instance: Instance;
  /** Lease TTL in whole seconds (etcd's unit); 10 by default. Keepalives go every ttl/3. */
  ttl?: number;
  logger?: Logger;
  /** Backoff for registering again after the lease was lost (ms); 200 doubling to 5000. */
  retry?: RetryOptions;
}

/**
 * Registers one instance under a lease that the client keeps alive. When the lease is
 * lost (it expired during a partition, or etcd forgot it) a new one is granted and the
 * key put again, until `deregister()`. `deregister()` revokes the lease, so the key
 * vanishes at once; a process that dies without it disappears after the TTL.
 */
export class EtcdRegistrar implements Registrar {
  readonly key: string;
  readonly instance: Instance;
  readonly ttl: number;
  private readonly value: string;
  private readonly client: Namespace;
  private readonly owned: Etcd3 | undefined;
  private readonly logger: Logger;
  private readonly retry: Required<RetryOptions>;
  /** The lease our key lives under, once put. */
  private lease: Lease | undefined;
  private wanted = false;
  private pending: Promise<void> | undefined;
  private failures = 0;
  private retryTimer: NodeJS.Timeout | undefined;
  private closed = false;

  constructor(client: EtcdClientInput, options: EtcdRegistrarOptions) {
    const dir = directoryOf(options?.prefix, 'etcdRegistrar');
    const instance = checkInstance(options.instance);
    if (instance instanceof Error) throw new TypeError(`kitts/sd-etcd: etcdRegistrar: ${instance.message}`);
    const { ttl = 10 } = options;
    if (!(Number.isInteger(ttl) && ttl >= 1)) {
      throw new RangeError(
        `kitts/sd-etcd: etcdRegistrar: ttl must be a whole number of seconds >= 1, got ${ttl}`,
      );
    }
    this.retry = checkRetry('etcdRegistrar', options.retry);
    this.instance = instance;
    this.ttl = ttl;
    this.key = dir + instance.id;
    this.value = encodeInstance(instance);
    this.logger = options.logger ?? silentLogger;
    ({ client: this.client, owned: this.owned } = resolveClient(client, 'etcdRegistrar'));
  }

  /** True while the key is (as far as we know) in etcd. */
  get registered(): boolean {
    return this.lease !== undefined && !this.lease.revoked();
  }

  /** Puts the key under a new lease; rejects if etcd refuses or cannot be reached. */
  async register(): Promise<void> {
    if (this.closed) throw new Error('kitts/sd-etcd: this registrar is closed');
    this.wanted = true;
    if (this.registered) return;
    try {
      await this.establish();
    } catch (err) {
      // A registration that never happened is not retried behind the caller's back.
      if (!this.registered) this.wanted = false;
      throw err;
    }
  }

  /** Revokes the lease: the key is deleted at once. Stops re-registering. */
  async deregister(): Promise<void> {
    this.wanted = false;
    clearTimeout(this.retryTimer);
    this.retryTimer = undefined;
    await this.pending?.catch(() => {});
    const lease = this.lease;
    this.lease = undefined;
    if (lease !== undefined) await lease.revoke();
  }

  /** deregister(), then close the etcd client if this registrar created it. */
  async close(): Promise<void> {
    if (this.closed) return;
    try {
      await this.deregister();
    } finally {
      this.closed = true;
      this.owned?.close();
    }
  }

  private establish(): Promise<void> {
    this.pending ??= this.grantAndPut().finally(() => {
      this.pending = undefined;
    });
    return this.pending;
  }

  private async grantAndPut(): Promise<void> {
    const lease = this.client.lease(this.ttl);
    // 'lost' also fires when the grant itself fails; that case rejects below instead.
    lease.on('lost', (err: Error) => this.onLost(lease, err));
    try {
      await lease.put(this.key).value(this.value).exec();
    } catch (err) {
      lease.release();
      throw err;
    }
    if (!this.wanted) {
      // deregister() ran while we were putting: take the key back out.
      await lease.revoke().catch(() => {});
      return;
    }
    this.lease = lease;
    this.failures = 0;
    this.logger.info({ key: this.key }, 'kitts/sd-etcd: registered');
  }

  private onLost(lease: Lease, err: Error): void {
    if (lease !== this.lease || !this.wanted) return;
    this.lease = undefined;
    this.logger.warn({ key: this.key, err }, 'kitts/sd-etcd: lease lost; registering again');
    this.again(0);
  }

  private again(delay: number): void {
    clearTimeout(this.retryTimer);
    this.retryTimer = setTimeout(() => {
      this.retryTimer = undefined;
      if (!this.wanted || this.registered) return;
      this.establish().catch((err: Error) => {
        this.logger.warn({ key: this.key, err }, 'kitts/sd-etcd: registering again failed; will retry');
        if (this.wanted) this.again(delayFor(this.failures++, this.retry));
      });
    }, delay);
    // The lease keepalive keeps the process alive while registered; the retry need not.
    this.retryTimer.unref();
  }
}

/** A Registrar for one instance under `prefix` in etcd. See {@link EtcdRegistrar}. */
export function etcdRegistrar(client: EtcdClientInput, options: EtcdRegistrarOptions): EtcdRegistrar {
  return new EtcdRegistrar(client, options);
}
