// The catalog behind the Consul double: nodes, services and checks with raft-style
// indexes, TTL checks that turn critical when not updated, HTTP/TCP/gRPC probes run on
// their interval, and the reaper that removes services critical for longer than their
// DeregisterCriticalServiceAfter. Follows HashiCorp's API docs (agent/service,
// agent/check, health, features/blocking); see ../../../../docs/registries-consul-eureka.md.
import { parseDuration } from '../../src/duration.js';
import { probeGrpc, probeHttp, probeTcp, type Status } from './probes.js';

export interface NodeRec {
  ID: string;
  Node: string;
  Address: string;
  Datacenter: string;
  Meta: Record<string, string>;
  CreateIndex: number;
  ModifyIndex: number;
}

export interface ServiceRec {
  node: string;
  ID: string;
  Service: string;
  Tags: string[];
  Address: string;
  Port: number;
  Meta: Record<string, string>;
  Weights: { Passing: number; Warning: number };
  /** Registered through the agent (reaped by DeregisterCriticalServiceAfter) or the catalog. */
  viaAgent: boolean;
  CreateIndex: number;
  ModifyIndex: number;
}

export interface CheckRec {
  Node: string;
  CheckID: string;
  Name: string;
  Status: Status;
  Notes: string;
  Output: string;
  ServiceID: string;
  ServiceName: string;
  Type: string;
  Definition: Record<string, unknown>;
  ttlMs?: number;
  deregisterAfterMs?: number;
  criticalSince?: number;
  timer?: NodeJS.Timeout;
  CreateIndex: number;
  ModifyIndex: number;
}

export class BadRequest extends Error {}

export interface StateOptions {
  nodeName: string;
  datacenter: string;
  /** Consul's reaper runs every 30 s. */
  reapInterval: number;
  /** Consul enforces at least 1 minute of DeregisterCriticalServiceAfter. */
  minDeregisterAfter: number;
}

const key = (node: string, id: string) => `${node}\u0000${id}`;

export class ConsulState {
  readonly nodes = new Map<string, NodeRec>();
  readonly services = new Map<string, ServiceRec>();
  readonly checks = new Map<string, CheckRec>();
  private raft = 1;
  private readonly serviceIndex = new Map<string, number>();
  private readonly waiters = new Set<() => void>();
  private readonly reaper: NodeJS.Timeout;

  constructor(private readonly o: StateOptions) {
    this.addNode(o.nodeName, '127.0.0.1');
    this.putCheck({ Node: o.nodeName, CheckID: 'serfHealth', Name: 'Serf Health Status', Status: 'passing' });
    this.reaper = setInterval(() => this.reap(), o.reapInterval);
  }

  close(): void {
    clearInterval(this.reaper);
    for (const c of this.checks.values()) clearTimeout(c.timer);
    for (const w of [...this.waiters]) w();
  }

  /** X-Consul-Index of a health query: the last write that touched the service (else the table's). */
  indexOf(service: string): number {
    return this.serviceIndex.get(service) ?? this.raft;
  }

  /** A test hook: set a service's index, even backwards (as after a snapshot restore). */
  setIndex(service: string, index: number): void {
    this.serviceIndex.set(service, index);
    this.wake();
  }

  /** Resolves when `indexOf(service)` passes `index`, or after `ms`, or on `signal`. */
  waitPast(service: string, index: number, ms: number, signal: AbortSignal): Promise<void> {
    return new Promise((resolve) => {
      const done = () => {
        clearTimeout(timer);
        this.waiters.delete(check);
        signal.removeEventListener('abort', done);
        resolve();
      };
      const check = () => {
        if (this.indexOf(service) > index) done();
      };
      const timer = setTimeout(done, ms);
      this.waiters.add(check);
      signal.addEventListener('abort', done);
      check();
    });
  }

  addNode(name: string, address: string, meta: Record<string, string> = {}): void {
    const old = this.nodes.get(name);
    const idx = this.write();
    this.nodes.set(name, {
      ID: old?.ID ?? crypto.randomUUID(),
      Node: name,
      Address: address,
      Datacenter: this.o.datacenter,
      Meta: meta,
      CreateIndex: old?.CreateIndex ?? idx,
      ModifyIndex: idx,
    });
  }

  putService(s: Omit<ServiceRec, 'CreateIndex' | 'ModifyIndex'>): void {
    const k = key(s.node, s.ID);
    const old = this.services.get(k);
    const idx = this.write(s.Service, old?.Service);
    this.services.set(k, { ...s, CreateIndex: old?.CreateIndex ?? idx, ModifyIndex: idx });
  }

  removeService(node: string, id: string): boolean {
    const s = this.services.get(key(node, id));
    if (s === undefined) return false;
    this.services.delete(key(node, id));
    for (const [k, c] of this.checks) {
      if (c.Node === node && c.ServiceID === id) {
        clearTimeout(c.timer);
        this.checks.delete(k);
      }
    }
    this.write(s.Service);
    return true;
  }

  removeNode(node: string): void {
    for (const s of [...this.services.values()]) if (s.node === node) this.removeService(node, s.ID);
    for (const [k, c] of this.checks) if (c.Node === node) this.checks.delete(k);
    this.nodes.delete(node);
    this.write();
  }

  /** Adds or replaces a check; a check re-registered under the same ID keeps its status. */
  putCheck(def: Record<string, any>, service?: ServiceRec): CheckRec {
    const node = def.Node ?? this.o.nodeName;
    const id = String(def.CheckID ?? def.ID ?? '');
    if (id === '') throw new BadRequest('Missing check ID');
    const k = key(node, id);
    const old = this.checks.get(k);
    if (old) clearTimeout(old.timer);
    const type = def.TTL ? 'ttl' : def.HTTP ? 'http' : def.TCP ? 'tcp' : def.GRPC ? 'grpc' : '';
    if ((type === 'http' || type === 'tcp' || type === 'grpc') && !def.Interval) {
      throw new BadRequest(`Invalid check: ${type.toUpperCase()} check must include an Interval`);
    }
    const status: Status = old?.Status ?? statusOf(def.Status ?? 'critical');
    const c: CheckRec = {
      Node: node,
      CheckID: id,
      Name: def.Name ?? (service ? `Service '${service.Service}' check` : id),
      Status: status,
      Notes: def.Notes ?? '',
      Output: old?.Output ?? '',
      ServiceID: service?.ID ?? def.ServiceID ?? '',
      ServiceName: service?.Service ?? '',
      Type: type,
      Definition: pick(def, [
        'Interval',
        'Timeout',
        'DeregisterCriticalServiceAfter',
        'HTTP',
        'Method',
        'TCP',
        'GRPC',
      ]),
      CreateIndex: 0,
      ModifyIndex: 0,
    };
    if (def.DeregisterCriticalServiceAfter) {
      c.deregisterAfterMs = parse(def.DeregisterCriticalServiceAfter, 'DeregisterCriticalServiceAfter');
    }
    if (status === 'critical') c.criticalSince = old?.criticalSince ?? Date.now();
    this.checks.set(k, c);
    c.ModifyIndex = this.write(c.ServiceName);
    c.CreateIndex = old?.CreateIndex ?? c.ModifyIndex;
    if (type === 'ttl') {
      c.ttlMs = parse(def.TTL, 'TTL');
      this.armTtl(c);
    } else if (type !== '') {
      this.runProbe(c, def);
    }
    return c;
  }

  /** TTL update (pass/warn/fail/update): sets the status and restarts the TTL clock. */
  updateTtl(checkId: string, status: Status, output: string): boolean {
    const c = this.checks.get(key(this.o.nodeName, checkId));
    if (c === undefined || c.Type !== 'ttl') return false;
    this.setStatus(c, status, output);
    this.armTtl(c);
    return true;
  }

  /** Every check of a node-service pair, node-level checks first, as /v1/health/service returns them. */
  checksFor(s: ServiceRec): CheckRec[] {
    const out: CheckRec[] = [];
    for (const c of this.checks.values()) if (c.Node === s.node && c.ServiceID === '') out.push(c);
    for (const c of this.checks.values()) if (c.Node === s.node && c.ServiceID === s.ID) out.push(c);
    return out;
  }

  private armTtl(c: CheckRec): void {
    clearTimeout(c.timer);
    c.timer = setTimeout(() => {
      c.timer = undefined;
      this.setStatus(c, 'critical', `TTL expired`);
    }, c.ttlMs);
  }

  private runProbe(c: CheckRec, def: Record<string, any>): void {
    const interval = parse(def.Interval, 'Interval');
    const timeout = def.Timeout ? parse(def.Timeout, 'Timeout') : 10_000;
    const tick = () => {
      c.timer = undefined;
      const probe =
        c.Type === 'http'
          ? probeHttp(def.HTTP, def.Method ?? 'GET', timeout)
          : c.Type === 'tcp'
            ? probeTcp(def.TCP, timeout)
            : probeGrpc(def.GRPC, timeout);
      void probe.then((r) => {
        if (this.checks.get(key(c.Node, c.CheckID)) !== c) return; // deregistered meanwhile
        this.setStatus(c, r.status, r.output);
        c.timer = setTimeout(tick, interval);
      });
    };
    // Consul staggers the first run randomly within the interval; a short fixed delay
    // keeps tests quick while still starting critical.
    c.timer = setTimeout(tick, Math.min(interval, 10));
  }

  private setStatus(c: CheckRec, status: Status, output: string): void {
    c.Output = output;
    if (c.Status === status) return; // output-only changes are synced lazily by Consul
    c.Status = status;
    c.criticalSince = status === 'critical' ? Date.now() : undefined;
    c.ModifyIndex = this.write(c.ServiceName);
  }

  private reap(): void {
    const now = Date.now();
    for (const c of [...this.checks.values()]) {
      if (c.deregisterAfterMs === undefined || c.criticalSince === undefined) continue;
      const after = Math.max(c.deregisterAfterMs, this.o.minDeregisterAfter);
      const s = this.services.get(key(c.Node, c.ServiceID));
      if (s?.viaAgent && now - c.criticalSince > after) this.removeService(c.Node, c.ServiceID);
    }
  }

  /** One raft write: bumps the index, stamps the touched services, wakes blocked queries. */
  private write(...services: (string | undefined)[]): number {
    const idx = ++this.raft;
    for (const s of services) if (s) this.serviceIndex.set(s, idx);
    this.wake();
    return idx;
  }

  private wake(): void {
    for (const w of [...this.waiters]) w();
  }
}

function statusOf(v: unknown): Status {
  if (v === 'passing' || v === 'warning' || v === 'critical') return v;
  throw new BadRequest(`Invalid check status: "${String(v)}"`);
}

function parse(v: unknown, what: string): number {
  try {
    return parseDuration(v as string, what);
  } catch {
    throw new BadRequest(`Invalid ${what}: ${JSON.stringify(v)}`);
  }
}

function pick(o: Record<string, unknown>, keys: string[]): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const k of keys) if (o[k] !== undefined) out[k] = o[k];
  return out;
}
