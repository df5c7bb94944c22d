import { type Logger, silentLogger } from '@kitts/endpoint';
import { InstanceBroadcaster } from './broadcaster.js';
import type { Instance, Instancer, InstancerListener, Registrar } from './types.js';

export type HealthStatus = 'passing' | 'warning' | 'critical';

export interface MemoryRegistrarOptions {
  /**
   * With a ttl (ms), the registration lives only while heartbeats arrive: the registrar
   * sends one every `heartbeat` ms (ttl/3 by default), and an instance whose heartbeats
   * stop disappears after the ttl, as with an etcd lease or a Consul TTL check.
   */
  ttl?: number;
  heartbeat?: number;
}

export interface MemoryInstancerOptions {
  /** Only instances carrying every one of these tags. */
  tags?: readonly string[];
  /** Only instances whose health is 'passing' (the default, as Consul's `?passing`). */
  passingOnly?: boolean;
}

interface Registration {
  instance: Instance;
  status: HealthStatus;
  ttl: number | undefined;
  expiresAt: number;
  timer: NodeJS.Timeout | undefined;
}

/**
 * An in-process service registry: the embedded default of every example and the fake
 * every test uses. It follows the same event rules as the real adapters (it builds on
 * the same InstanceBroadcaster), including TTL expiry, health filtering and outages,
 * which tests can cause with `fail()` and end with `recover()`.
 */
export class MemoryRegistry {
  private readonly services = new Map<string, Map<string, Registration>>();
  private readonly watchers = new Map<string, Set<MemoryInstancer>>();
  private readonly failures = new Map<string | undefined, Error>();
  readonly logger: Logger;

  constructor(options: { logger?: Logger } = {}) {
    this.logger = options.logger ?? silentLogger;
  }

  registrar(service: string, instance: Instance, options: MemoryRegistrarOptions = {}): MemoryRegistrar {
    return new MemoryRegistrar(this, service, instance, options);
  }

  instancer(service: string, options: MemoryInstancerOptions = {}): Instancer {
    const inst = new MemoryInstancer(this, service, options, this.logger);
    let set = this.watchers.get(service);
    if (set === undefined) this.watchers.set(service, (set = new Set()));
    set.add(inst);
    return inst;
  }

  /** Every registered instance of a service with its health, passing or not. */
  list(service: string): { instance: Instance; status: HealthStatus }[] {
    return [...(this.services.get(service)?.values() ?? [])].map((r) => ({
      instance: r.instance,
      status: r.status,
    }));
  }

  /** Make instancers of `service` (or of every service) report `error`, keeping their last set. */
  fail(error: Error, service?: string): void {
    this.failures.set(service, error);
    for (const [name, watchers] of this.watchers) {
      if (service !== undefined && name !== service) continue;
      for (const w of watchers) w.broadcaster.fail(error);
    }
  }

  /** End an outage started with fail(): instancers report the current state again. */
  recover(service?: string): void {
    this.failures.delete(service);
    for (const name of this.watchers.keys()) if (service === undefined || name === service) this.notify(name);
  }

  setHealth(service: string, id: string, status: HealthStatus): void {
    const reg = this.services.get(service)?.get(id);
    if (reg === undefined) throw new Error(`kitts/sd: ${service}/${id} is not registered`);
    if (reg.status === status) return;
    reg.status = status;
    this.notify(service);
  }

  /** Stop every TTL timer and drop every registration and watcher. */
  close(): void {
    for (const regs of this.services.values()) for (const r of regs.values()) clearTimeout(r.timer);
    this.services.clear();
    for (const watchers of this.watchers.values()) for (const w of watchers) w.broadcaster.clear();
    this.watchers.clear();
  }

  /** @internal */
  put(service: string, instance: Instance, ttl: number | undefined): void {
    let regs = this.services.get(service);
    if (regs === undefined) this.services.set(service, (regs = new Map()));
    const old = regs.get(instance.id);
    if (old !== undefined) clearTimeout(old.timer);
    const reg: Registration = {
      instance,
      status: old?.status ?? 'passing',
      ttl,
      expiresAt: Infinity,
      timer: undefined,
    };
    regs.set(instance.id, reg);
    if (ttl !== undefined) this.touch(service, instance.id);
    this.notify(service);
  }

  /** @internal */
  remove(service: string, id: string): void {
    const regs = this.services.get(service);
    const reg = regs?.get(id);
    if (reg === undefined) return;
    clearTimeout(reg.timer);
    regs!.delete(id);
    this.notify(service);
  }

  /** @internal A heartbeat: push the registration's expiry one ttl ahead. */
  touch(service: string, id: string): boolean {
    const reg = this.services.get(service)?.get(id);
    if (reg === undefined || reg.ttl === undefined) return false;
    reg.expiresAt = Date.now() + reg.ttl;
    if (reg.timer === undefined) this.arm(service, reg);
    return true;
  }

  /** @internal */
  unwatch(service: string, inst: MemoryInstancer): void {
    this.watchers.get(service)?.delete(inst);
  }

  /** @internal */
  snapshot(service: string, options: MemoryInstancerOptions): Instance[] {
    const { tags = [], passingOnly = true } = options;
    const out: Instance[] = [];
    for (const r of this.services.get(service)?.values() ?? []) {
      if (passingOnly && r.status !== 'passing') continue;
      if (tags.some((t) => !(r.instance.tags ?? []).includes(t))) continue;
      out.push(r.instance);
    }
    return out;
  }

  /** @internal */
  failureFor(service: string): Error | undefined {
    return this.failures.get(service) ?? this.failures.get(undefined);
  }

  // One timer per TTL registration, re-armed lazily: heartbeats only move a number.
  private arm(service: string, reg: Registration): void {
    const timer = setTimeout(
      () => {
        reg.timer = undefined;
        if (this.services.get(service)?.get(reg.instance.id) !== reg) return;
        if (Date.now() >= reg.expiresAt) {
          this.logger.info(
            { service, id: reg.instance.id },
            'kitts/sd: registration expired (no heartbeat within ttl)',
          );
          this.remove(service, reg.instance.id);
        } else {
          this.arm(service, reg);
        }
      },
      Math.max(1, reg.expiresAt - Date.now()),
    );
    timer.unref();
    reg.timer = timer;
  }

  private notify(service: string): void {
    const watchers = this.watchers.get(service);
    if (watchers === undefined) return;
    for (const w of watchers) w.refresh();
  }
}

class MemoryInstancer implements Instancer {
  readonly broadcaster: InstanceBroadcaster;

  constructor(
    private readonly registry: MemoryRegistry,
    private readonly service: string,
    private readonly options: MemoryInstancerOptions,
    logger: Logger,
  ) {
    this.broadcaster = new InstanceBroadcaster({ logger });
    this.refresh();
  }

  refresh(): void {
    // While the registry is failing for this service, changes are not visible.
    const failure = this.registry.failureFor(this.service);
    if (failure !== undefined) {
      this.broadcaster.fail(failure);
      return;
    }
    this.broadcaster.update(this.registry.snapshot(this.service, this.options));
  }

  subscribe(listener: InstancerListener): () => void {
    return this.broadcaster.subscribe(listener);
  }

  async close(): Promise<void> {
    this.registry.unwatch(this.service, this);
    this.broadcaster.clear();
  }
}

/** Registers one instance in a MemoryRegistry; with a ttl it heartbeats while registered. */
export class MemoryRegistrar implements Registrar {
  private interval: NodeJS.Timeout | undefined;
  private registered = false;

  constructor(
    private readonly registry: MemoryRegistry,
    readonly service: string,
    readonly instance: Instance,
    private readonly options: MemoryRegistrarOptions,
  ) {
    const { ttl, heartbeat } = options;
    if (ttl !== undefined && !(ttl > 0))
      throw new RangeError(`kitts/sd: ttl must be a positive number of ms, got ${ttl}`);
    if (heartbeat !== undefined && !(heartbeat > 0))
      throw new RangeError(`kitts/sd: heartbeat must be positive, got ${heartbeat}`);
  }

  async register(): Promise<void> {
    this.registered = true;
    this.registry.put(this.service, this.instance, this.options.ttl);
    this.startHeartbeats();
  }

  async deregister(): Promise<void> {
    this.registered = false;
    this.stopHeartbeats();
    this.registry.remove(this.service, this.instance.id);
  }

  /** Stop heartbeating without deregistering, as a crashed process would: the ttl then removes it. */
  stopHeartbeats(): void {
    clearInterval(this.interval);
    this.interval = undefined;
  }

  /** Report this instance's health (what a health check would find). */
  setHealth(status: HealthStatus): void {
    this.registry.setHealth(this.service, this.instance.id, status);
  }

  get isRegistered(): boolean {
    return this.registered;
  }

  private startHeartbeats(): void {
    const { ttl, heartbeat } = this.options;
    if (ttl === undefined || this.interval !== undefined) return;
    this.interval = setInterval(
      () => {
        // Re-register if the registry dropped us (it expired us while we were paused).
        if (!this.registry.touch(this.service, this.instance.id))
          this.registry.put(this.service, this.instance, ttl);
      },
      heartbeat ?? Math.max(1, Math.floor(ttl / 3)),
    );
    this.interval.unref();
  }
}
