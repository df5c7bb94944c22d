import { type Logger, silentLogger } from '@kitts/endpoint';
import type { Registrar } from '@kitts/sd';
import { type ConsulCheck, checkDefinition } from './check.js';
import {
  type ConsulClient,
  type ConsulError,
  type LowLevelClient,
  toConsulError,
  tokenHeaders,
} from './client.js';

export interface ConsulRegistrarOptions {
  /** The logical service name. */
  service: string;
  /** Unique per agent; also the instance id instancers report. */
  id: string;
  /** The address clients should dial (an IP or host name). */
  address: string;
  port: number;
  tags?: readonly string[];
  meta?: Readonly<Record<string, string>>;
  /** Weights for weighted balancers and Consul DNS: `passing` normally, `warning` while a check warns. */
  weights?: { passing: number; warning?: number };
  /** How Consul decides the instance is healthy; without one it is always passing. */
  check?: ConsulCheck;
  /** ACL token, sent as `X-Consul-Token` on every request; never logged. */
  token?: string;
  /** Per-request timeout in ms. Default 10_000. */
  timeout?: number;
  logger?: Logger;
}

/**
 * Registers one instance with the local Consul agent (`/v1/agent/service/register`).
 * With a TTL check it also runs the heartbeat (`/v1/agent/check/pass`) at a fraction of
 * the TTL, and registers again when the agent no longer knows the check (an agent restart,
 * or DeregisterCriticalServiceAfter reaped it while the process was paused).
 */
export class ConsulRegistrar implements Registrar {
  private readonly logger: Logger;
  private readonly body: Record<string, unknown>;
  private readonly checkId: string;
  private readonly heartbeatMs: number | undefined;
  private readonly headers: Record<string, string>;
  /** Only when given: an explicit undefined would hide a token set in the client's defaults. */
  private readonly tokenOption: { token?: string };
  /** The token in use, to scrub from error messages. */
  private readonly secret: string | undefined;
  private readonly timeout: number;
  private timer: NodeJS.Timeout | undefined;
  private beating: Promise<void> | undefined;
  private active = false;

  private readonly client: LowLevelClient;

  constructor(
    client: ConsulClient,
    private readonly options: ConsulRegistrarOptions,
  ) {
    this.client = client as LowLevelClient;
    if (typeof this.client?._put !== 'function' || typeof client?.agent?.check?.pass !== 'function') {
      throw new TypeError(
        'kitts/sd-consul: client must be a Consul client from npm "consul" (new Consul({ host, port }))',
      );
    }
    const o = options ?? ({} as ConsulRegistrarOptions);
    for (const k of ['service', 'id', 'address'] as const) {
      if (typeof o[k] !== 'string' || o[k].trim() === '') {
        throw new TypeError(`kitts/sd-consul: options.${k} must be a non-empty string`);
      }
    }
    if (!Number.isInteger(o.port) || o.port < 0 || o.port > 65535) {
      throw new TypeError(`kitts/sd-consul: options.port must be an integer from 0 to 65535, got ${o.port}`);
    }
    if (o.weights !== undefined) {
      const { passing, warning = 1 } = o.weights;
      if (!Number.isInteger(passing) || passing < 1 || !Number.isInteger(warning) || warning < 0) {
        throw new TypeError('kitts/sd-consul: options.weights.passing must be an integer >= 1, warning >= 0');
      }
    }
    this.logger = o.logger ?? silentLogger;
    this.checkId = `service:${o.id}`;
    this.tokenOption = o.token !== undefined ? { token: o.token } : {};
    // The low-level request skips the client's defaults: carry their token by hand.
    this.secret = o.token ?? this.client._defaults?.token;
    this.headers = tokenHeaders(this.secret);
    this.timeout = o.timeout ?? 10_000;
    this.body = {
      ID: o.id,
      Name: o.service,
      Address: o.address,
      Port: o.port,
      ...(o.tags !== undefined ? { Tags: [...o.tags] } : {}),
      ...(o.meta !== undefined ? { Meta: { ...o.meta } } : {}),
      ...(o.weights !== undefined
        ? { Weights: { Passing: o.weights.passing, Warning: o.weights.warning ?? 1 } }
        : {}),
    };
    if (o.check !== undefined) {
      const def = checkDefinition(o.check, this.checkId, o.service);
      this.body.Check = def.body;
      this.heartbeatMs = def.heartbeatMs;
    }
  }

  /** Registers (again, idempotently) and, for a TTL check, marks it passing and starts the heartbeat. */
  async register(): Promise<void> {
    this.active = false;
    this.stopHeartbeat();
    await this.beating;
    await this.put();
    this.active = true;
    if (this.heartbeatMs === undefined) return;
    try {
      await this.pass();
    } catch (err) {
      // Registered, but the first pass failed: the heartbeat retries within a third of the TTL.
      this.logger.warn({ err, id: this.options.id }, 'kitts/sd-consul: first TTL pass failed');
    }
    this.schedule();
  }

  /** Stops the heartbeat and removes the service (and its checks) from the agent. */
  async deregister(): Promise<void> {
    this.active = false;
    this.stopHeartbeat();
    await this.beating;
    try {
      await this.client.agent.service.deregister({
        id: this.options.id,
        ...this.tokenOption,
        timeout: this.timeout,
      });
    } catch (err) {
      const e = toConsulError(err, `deregister "${this.options.id}"`, this.secret);
      // Already gone (reaped, or the agent restarted): what deregister() wants anyway.
      if (e.status !== 404) throw e;
    }
  }

  /**
   * Stops the heartbeat without deregistering, as a crash would: a TTL check then turns
   * critical after the TTL, and DeregisterCriticalServiceAfter removes the service.
   */
  async close(): Promise<void> {
    this.active = false;
    this.stopHeartbeat();
    await this.beating;
  }

  private async put(): Promise<void> {
    try {
      await this.client._put({
        name: 'agent.service.register',
        path: '/agent/service/register',
        query: { 'replace-existing-checks': 'true' },
        type: 'json',
        body: this.body,
        headers: { ...this.headers },
        timeout: this.timeout,
      });
    } catch (err) {
      throw toConsulError(err, `register "${this.options.id}"`, this.secret);
    }
  }

  private async pass(): Promise<void> {
    try {
      await this.client.agent.check.pass({ id: this.checkId, ...this.tokenOption, timeout: this.timeout });
    } catch (err) {
      throw toConsulError(err, `heartbeat "${this.checkId}"`, this.secret);
    }
  }

  private schedule(): void {
    if (!this.active || this.timer !== undefined || this.beating !== undefined) return;
    this.timer = setTimeout(() => {
      this.timer = undefined;
      this.beating = this.beat().finally(() => {
        this.beating = undefined;
        this.schedule();
      });
    }, this.heartbeatMs);
    // The heartbeat must not keep a process alive that has nothing else to do.
    this.timer.unref();
  }

  private async beat(): Promise<void> {
    try {
      await this.pass();
    } catch (err) {
      if (!this.active) return;
      const e = err as ConsulError;
      if (!forgotten(e)) {
        this.logger.warn({ err: e, id: this.options.id }, 'kitts/sd-consul: TTL heartbeat failed');
        return;
      }
      this.logger.info(
        { id: this.options.id },
        'kitts/sd-consul: the agent lost the registration; registering again',
      );
      try {
        await this.put();
        if (this.active) await this.pass();
      } catch (again) {
        this.logger.warn({ err: again, id: this.options.id }, 'kitts/sd-consul: registering again failed');
      }
    }
  }

  private stopHeartbeat(): void {
    clearTimeout(this.timer);
    this.timer = undefined;
  }
}

/** True when the agent answered that it does not know the check (any Consul version). */
function forgotten(err: ConsulError): boolean {
  return (
    err.status === 404 ||
    (err.status === 500 && /does not have associated TTL|unknown check/i.test(err.message))
  );
}

/** Register one instance with Consul; see ConsulRegistrar. */
export function consulRegistrar(client: ConsulClient, options: ConsulRegistrarOptions): ConsulRegistrar {
  return new ConsulRegistrar(client, options);
}
