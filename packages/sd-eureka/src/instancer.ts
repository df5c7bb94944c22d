import { type Logger, silentLogger } from '@kitts/endpoint';
import { InstanceBroadcaster, type Instancer, type InstancerListener } from '@kitts/sd';
import { answerError, EurekaError, EurekaHttp, type EurekaHttpOptions } from './http.js';
import { toInstances } from './mapping.js';

export interface EurekaInstancerOptions extends EurekaHttpOptions {
  /** The application name (Eureka upper-cases it). */
  app: string;
  /** Poll interval in ms. Default 30_000, as Eureka's own client (registryFetchIntervalSeconds). */
  interval?: number;
  /** The metadata key holding an instance's weight. Default "weight". */
  weightKey?: string;
  logger?: Logger;
}

/**
 * Polls `GET {url}/apps/{APP}` and reports the instances whose status is UP. A 404 means
 * the application has no instances left (Eureka drops an application with its last
 * instance), so it yields an empty set, not an error. Other failures emit an error event
 * that keeps the last set; polling goes on at the same pace. close() aborts the request
 * in flight and closes the connections.
 */
export class EurekaInstancer implements Instancer {
  private readonly broadcaster: InstanceBroadcaster;
  private readonly http: EurekaHttp;
  private readonly logger: Logger;
  private readonly path: string;
  private readonly interval: number;
  private readonly weightKey: string;
  private readonly aborter = new AbortController();
  private timer: NodeJS.Timeout | undefined;
  private polling: Promise<void> | undefined;
  private closed = false;
  private settleReady!: () => void;
  /** Resolves once the first poll has answered (with a set or an error), or on close. */
  readonly ready: Promise<void> = new Promise((resolve) => {
    this.settleReady = resolve;
  });

  constructor(options: EurekaInstancerOptions) {
    if (typeof options?.app !== 'string' || options.app.trim() === '') {
      throw new TypeError('kitts/sd-eureka: options.app must be a non-empty application name');
    }
    const interval = options.interval ?? 30_000;
    if (!(Number.isFinite(interval) && interval > 0)) {
      throw new TypeError(
        `kitts/sd-eureka: options.interval must be a positive number of ms, got ${interval}`,
      );
    }
    this.http = new EurekaHttp(options);
    this.logger = options.logger ?? silentLogger;
    this.broadcaster = new InstanceBroadcaster({ logger: this.logger });
    this.path = `/apps/${encodeURIComponent(options.app.toUpperCase())}`;
    this.interval = interval;
    this.weightKey = options.weightKey ?? 'weight';
    this.poll();
  }

  subscribe(listener: InstancerListener): () => void {
    return this.broadcaster.subscribe(listener);
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    clearTimeout(this.timer);
    this.aborter.abort();
    this.settleReady();
    await this.polling;
    await this.http.close();
    this.broadcaster.clear();
  }

  private poll(): void {
    this.timer = undefined;
    this.polling = this.fetchOnce().finally(() => {
      this.polling = undefined;
      this.settleReady();
      if (!this.closed) this.timer = setTimeout(() => this.poll(), this.interval);
    });
  }

  private async fetchOnce(): Promise<void> {
    const what = `GET ${this.path}`;
    try {
      const { status, text } = await this.http.call('GET', this.path, { signal: this.aborter.signal, what });
      if (this.closed) return;
      if (status === 404) {
        this.broadcaster.update([]);
      } else if (status !== 200) {
        throw answerError(what, status, text);
      } else {
        this.broadcaster.update(toInstances(JSON.parse(text), this.weightKey));
      }
    } catch (err) {
      if (this.closed) return;
      const error =
        err instanceof EurekaError
          ? err
          : new EurekaError(`kitts/sd-eureka: ${what} failed: ${(err as Error).message}`);
      this.logger.warn({ err: error, app: this.path }, 'kitts/sd-eureka: poll failed');
      this.broadcaster.fail(error);
    }
  }
}

/** Poll a Eureka application's instances; see EurekaInstancer. */
export function eurekaInstancer(options: EurekaInstancerOptions): EurekaInstancer {
  return new EurekaInstancer(options);
}
