import { type Logger, silentLogger } from '@kitts/endpoint';
import type { Registrar } from '@kitts/sd';
import { answerError, checkUrl, EurekaError, EurekaHttp, type EurekaHttpOptions } from './http.js';

export type EurekaStatus = 'UP' | 'DOWN' | 'STARTING' | 'OUT_OF_SERVICE' | 'UNKNOWN';

/** What this process tells Eureka about itself. */
export interface EurekaInstanceInput {
  /** Default "<hostName>:<app>:<port>", Spring Cloud's format. */
  instanceId?: string;
  hostName: string;
  ipAddr: string;
  port: number;
  /** Announced as enabled when given. */
  securePort?: number;
  /** Default: the app name in lower case. */
  vipAddress?: string;
  secureVipAddress?: string;
  /** Default "UP". */
  status?: EurekaStatus;
  /** Free-form strings; `weight` is read by eurekaInstancer. */
  metadata?: Record<string, string>;
  homePageUrl?: string;
  statusPageUrl?: string;
  healthCheckUrl?: string;
}

export interface EurekaRegistrarOptions extends EurekaHttpOptions {
  app: string;
  instance: EurekaInstanceInput;
  /** Heartbeat period in ms. Default 30_000, as Eureka's own client. */
  renewInterval?: number;
  /** Seconds without a heartbeat before Eureka may evict the instance. Default 90. */
  leaseDuration?: number;
  logger?: Logger;
}

const STATUSES = new Set(['UP', 'DOWN', 'STARTING', 'OUT_OF_SERVICE', 'UNKNOWN']);

/**
 * Registers one instance with Eureka (`POST /apps/{APP}`), renews its lease every
 * `renewInterval` (`PUT /apps/{APP}/{id}`), registers again when a renewal answers 404
 * (the lease expired, e.g. after a network partition, or the server restarted), and
 * deregisters on deregister() (`DELETE /apps/{APP}/{id}`).
 */
export class EurekaRegistrar implements Registrar {
  readonly instanceId: string;
  /** Opened on first use, closed by close() and deregister(): a registrar may register again later. */
  private http: EurekaHttp | undefined;
  private readonly logger: Logger;
  private readonly appPath: string;
  private readonly renewMs: number;
  private readonly info: Record<string, unknown>;
  private lastDirty = 0;
  private timer: NodeJS.Timeout | undefined;
  private renewing: Promise<void> | undefined;
  private active = false;

  constructor(private readonly options: EurekaRegistrarOptions) {
    const { app, instance: i } = options ?? ({} as EurekaRegistrarOptions);
    if (typeof app !== 'string' || app.trim() === '') {
      throw new TypeError('kitts/sd-eureka: options.app must be a non-empty application name');
    }
    for (const k of ['hostName', 'ipAddr'] as const) {
      if (typeof i?.[k] !== 'string' || i[k] === '') {
        throw new TypeError(`kitts/sd-eureka: options.instance.${k} must be a non-empty string`);
      }
    }
    for (const k of ['port', 'securePort'] as const) {
      const p = i[k];
      if ((k === 'port' || p !== undefined) && !(Number.isInteger(p) && p! > 0 && p! <= 65535)) {
        throw new TypeError(
          `kitts/sd-eureka: options.instance.${k} must be a port from 1 to 65535, got ${p}`,
        );
      }
    }
    if (i.status !== undefined && !STATUSES.has(i.status)) {
      throw new TypeError(
        `kitts/sd-eureka: options.instance.status must be one of ${[...STATUSES].join(', ')}`,
      );
    }
    this.renewMs = options.renewInterval ?? 30_000;
    const lease = options.leaseDuration ?? 90;
    if (!(this.renewMs > 0) || !(lease * 1000 > this.renewMs)) {
      throw new TypeError('kitts/sd-eureka: renewInterval must be positive and shorter than leaseDuration');
    }
    checkUrl(options);
    this.logger = options.logger ?? silentLogger;
    const APP = app.toUpperCase();
    this.instanceId = i.instanceId ?? `${i.hostName}:${app.toLowerCase()}:${i.port}`;
    this.appPath = `/apps/${encodeURIComponent(APP)}`;
    this.info = {
      instanceId: this.instanceId,
      hostName: i.hostName,
      app: APP,
      ipAddr: i.ipAddr,
      vipAddress: i.vipAddress ?? app.toLowerCase(),
      secureVipAddress: i.secureVipAddress ?? i.vipAddress ?? app.toLowerCase(),
      status: i.status ?? 'UP',
      port: { $: i.port, '@enabled': 'true' },
      securePort: { $: i.securePort ?? 443, '@enabled': String(i.securePort !== undefined) },
      dataCenterInfo: { '@class': 'com.netflix.appinfo.InstanceInfo$DefaultDataCenterInfo', name: 'MyOwn' },
      leaseInfo: {
        renewalIntervalInSecs: Math.max(1, Math.round(this.renewMs / 1000)),
        durationInSecs: lease,
      },
      metadata: { ...i.metadata },
      ...(i.homePageUrl ? { homePageUrl: i.homePageUrl } : {}),
      ...(i.statusPageUrl ? { statusPageUrl: i.statusPageUrl } : {}),
      ...(i.healthCheckUrl ? { healthCheckUrl: i.healthCheckUrl } : {}),
    };
  }

  /** Registers and starts renewing the lease. */
  async register(): Promise<void> {
    this.stop();
    await this.renewing;
    await this.post();
    this.active = true;
    this.schedule();
  }

  /**
   * Changes the status Eureka serves (DOWN or OUT_OF_SERVICE take the instance out of
   * every instancer) by registering again, as Eureka's own client does. Before register()
   * it only sets the status the registration will carry.
   */
  async setStatus(status: EurekaStatus): Promise<void> {
    if (!STATUSES.has(status)) throw new TypeError(`kitts/sd-eureka: unknown status ${status}`);
    this.info.status = status;
    // Before register() (or after deregister()) the status just waits for the next registration.
    if (this.active) await this.post();
  }

  /** Stops renewing and removes the instance, then closes the connections. */
  async deregister(): Promise<void> {
    this.stop();
    await this.renewing;
    const what = `DELETE ${this.appPath}/${this.instanceId}`;
    try {
      const { status, text } = await this.conn().call('DELETE', this.idPath(), { what });
      // 404: already evicted, which is what deregister() wants anyway.
      if (status !== 200 && status !== 404) throw answerError(what, status, text);
    } finally {
      await this.release();
    }
  }

  /** Stops renewing without deregistering (Eureka evicts the instance after leaseDuration). */
  async close(): Promise<void> {
    this.stop();
    await this.renewing;
    await this.release();
  }

  private stop(): void {
    this.active = false;
    clearTimeout(this.timer);
    this.timer = undefined;
  }

  private conn(): EurekaHttp {
    this.http ??= new EurekaHttp(this.options);
    return this.http;
  }

  private async release(): Promise<void> {
    const http = this.http;
    this.http = undefined;
    await http?.close();
  }

  private idPath(): string {
    return `${this.appPath}/${encodeURIComponent(this.instanceId)}`;
  }

  private async post(): Promise<void> {
    this.lastDirty = Date.now();
    const instance = { ...this.info, lastDirtyTimestamp: String(this.lastDirty) };
    const what = `POST ${this.appPath}`;
    const { status, text } = await this.conn().call('POST', this.appPath, { body: { instance }, what });
    if (status !== 204 && status !== 200) throw answerError(what, status, text);
  }

  private schedule(): void {
    if (!this.active || this.timer !== undefined || this.renewing !== undefined) return;
    this.timer = setTimeout(() => {
      this.timer = undefined;
      this.renewing = this.renew().finally(() => {
        this.renewing = undefined;
        this.schedule();
      });
    }, this.renewMs);
    // Renewal must not keep a process alive that has nothing else to do.
    this.timer.unref();
  }

  private async renew(): Promise<void> {
    const what = `PUT ${this.appPath}/${this.instanceId}`;
    try {
      const q = `?status=${this.info.status}&lastDirtyTimestamp=${this.lastDirty}`;
      const { status, text } = await this.conn().call('PUT', `${this.idPath()}${q}`, { what });
      if (status === 200 || !this.active) return;
      if (status !== 404) throw answerError(what, status, text);
      this.logger.info(
        { id: this.instanceId },
        'kitts/sd-eureka: lease unknown to Eureka; registering again',
      );
      await this.post();
    } catch (err) {
      if (!this.active) return;
      const e = err instanceof EurekaError ? err : new EurekaError(String(err));
      this.logger.warn({ err: e, id: this.instanceId }, 'kitts/sd-eureka: renewal failed');
    }
  }
}

/** Register one instance with Eureka; see EurekaRegistrar. */
export function eurekaRegistrar(options: EurekaRegistrarOptions): EurekaRegistrar {
  return new EurekaRegistrar(options);
}
