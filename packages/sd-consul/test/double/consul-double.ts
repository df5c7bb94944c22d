// A Consul agent double: a real HTTP server on 127.0.0.1 serving the subset of Consul's
// HTTP API a discovery client uses, following HashiCorp's API docs. Not shipped (outside
// the package's `files`). Hooks let tests break it the ways real deployments break:
// lower the index, answer index 0, omit X-Consul-Index, delay or drop a response.
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { parseDuration } from '../../src/duration.js';
import { BadRequest, ConsulState } from './consul-state.js';
import type { Status } from './probes.js';

export interface ConsulDoubleOptions {
  datacenter?: string;
  nodeName?: string;
  /** How often critical services are reaped (Consul: 30 s). */
  reapInterval?: number;
  /** Floor of DeregisterCriticalServiceAfter (Consul: 1 minute). */
  minDeregisterAfter?: number;
  /** Turns on ACLs with a default-deny policy; this token may do everything. */
  aclToken?: string;
  /**
   * Answer as agents before the ACL-vetting rework did: 500 "does not have associated
   * TTL" for an unknown check, 200 for deregistering an unknown service.
   */
  legacyErrors?: boolean;
}

export interface RecordedRequest {
  method: string;
  path: string;
  query: URLSearchParams;
  token: string | undefined;
}

/** What a hook may do to one request. */
export interface Fault {
  /** Answer at once with this status and body. */
  status?: number;
  body?: string;
  /** Report this X-Consul-Index instead of the real one (0, or lower than before). */
  index?: number;
  /** Send no X-Consul-Index header. */
  omitIndex?: boolean;
  /** Wait this many ms before handling the request. */
  delay?: number;
  /** Never answer; the connection stays open until the client gives up or the double closes. */
  drop?: boolean;
}

export class ConsulDouble {
  readonly requests: RecordedRequest[] = [];
  /** Called for every request before it is handled. */
  hook: ((req: RecordedRequest) => Fault | undefined) | undefined;
  readonly state: ConsulState;
  private readonly pending = new Set<AbortController>();

  private constructor(
    private readonly server: Server,
    private readonly o: Required<Omit<ConsulDoubleOptions, 'aclToken'>> & { aclToken?: string },
  ) {
    this.state = new ConsulState(o);
  }

  static async start(options: ConsulDoubleOptions = {}): Promise<ConsulDouble> {
    const server = createServer();
    const d = new ConsulDouble(server, {
      datacenter: 'dc1',
      nodeName: 'kitts-double',
      reapInterval: 30_000,
      minDeregisterAfter: 60_000,
      legacyErrors: false,
      ...options,
    });
    server.on('request', (req, res) => void d.handle(req, res));
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    return d;
  }

  get port(): number {
    return (this.server.address() as AddressInfo).port;
  }

  /** Health queries, optionally for one service, in arrival order. */
  healthQueries(service?: string): RecordedRequest[] {
    const prefix = `/v1/health/service/${service ?? ''}`;
    return this.requests.filter((r) => (service ? r.path === prefix : r.path.startsWith(prefix)));
  }

  async close(): Promise<void> {
    for (const p of this.pending) p.abort();
    this.state.close();
    this.server.closeAllConnections();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', 'http://consul');
    const auth = req.headers.authorization;
    const token =
      (req.headers['x-consul-token'] as string | undefined) ??
      (auth?.startsWith('Bearer ') ? auth.slice(7) : undefined) ??
      url.searchParams.get('token') ??
      undefined;
    const rec: RecordedRequest = {
      method: req.method ?? 'GET',
      path: url.pathname,
      query: url.searchParams,
      token,
    };
    this.requests.push(rec);
    const aborter = new AbortController();
    this.pending.add(aborter);
    res.on('close', () => {
      aborter.abort();
      this.pending.delete(aborter);
    });
    try {
      const body = await readBody(req);
      const fault = this.hook?.(rec);
      if (fault?.drop) return;
      if (fault?.delay) await abortableSleep(fault.delay, aborter.signal);
      if (aborter.signal.aborted) return;
      if (fault?.status !== undefined) return send(res, fault.status, fault.body ?? '', 'text/plain');
      if (this.o.aclToken !== undefined && token !== undefined && token !== this.o.aclToken) {
        return send(res, 403, 'ACL not found', 'text/plain');
      }
      const allowed = this.o.aclToken === undefined || token === this.o.aclToken;
      await this.route(rec, body, res, allowed, fault, aborter.signal);
    } catch (err) {
      if (err instanceof BadRequest) return send(res, 400, err.message, 'text/plain');
      send(res, 500, String((err as Error).message), 'text/plain');
    }
  }

  private async route(
    r: RecordedRequest,
    raw: string,
    res: ServerResponse,
    allowed: boolean,
    fault: Fault | undefined,
    signal: AbortSignal,
  ): Promise<void> {
    const p = r.path;
    const write = r.method === 'PUT' || r.method === 'POST';
    if (r.method === 'GET' && p === '/v1/status/leader')
      return send(res, 200, JSON.stringify('127.0.0.1:8300'));
    if (r.method === 'GET' && p.startsWith('/v1/health/service/')) {
      return this.health(decodeURIComponent(p.slice(19)), r.query, res, allowed, fault, signal);
    }
    if (!write) return send(res, 405, 'method not allowed', 'text/plain');
    // Writes need a token with write rights when ACLs are on.
    if (!allowed) return send(res, 403, 'Permission denied', 'text/plain');
    const s = this.state;
    let m: RegExpMatchArray | null;
    if (p === '/v1/agent/service/register') {
      this.register(json(raw), r.query.get('replace-existing-checks'));
    } else if ((m = p.match(/^\/v1\/agent\/service\/deregister\/(.+)$/))) {
      const id = decodeURIComponent(m[1]!);
      // The docs still say "no action" for an unknown id; agents since 1.x answer 404.
      if (!s.removeService(this.o.nodeName, id) && !this.o.legacyErrors) {
        return send(
          res,
          404,
          `Unknown service ID "${id}". Ensure that the service ID is passed, not the service name.`,
          'text/plain',
        );
      }
    } else if ((m = p.match(/^\/v1\/agent\/check\/(pass|warn|fail|update)\/(.+)$/))) {
      const id = decodeURIComponent(m[2]!);
      let status: Status = m[1] === 'pass' ? 'passing' : m[1] === 'warn' ? 'warning' : 'critical';
      let output = r.query.get('note') ?? '';
      if (m[1] === 'update') {
        const b = json(raw) as { Status?: string; Output?: string };
        if (b.Status !== 'passing' && b.Status !== 'warning' && b.Status !== 'critical') {
          throw new BadRequest(`Invalid check status: "${b.Status}"`);
        }
        status = b.Status;
        output = b.Output ?? '';
      }
      const known = s.checks.has(`${this.o.nodeName}\u0000${id}`);
      if (!known && !this.o.legacyErrors) {
        return send(
          res,
          404,
          `Unknown check ID "${id}". Ensure that the check ID is passed, not the check name.`,
          'text/plain',
        );
      }
      // Older agents answered 500 for unknown checks too; current ones only for non-TTL checks.
      if (!s.updateTtl(id, status, output)) {
        return send(res, 500, `CheckID "${id}" does not have associated TTL`, 'text/plain');
      }
    } else if (p === '/v1/catalog/register') {
      this.catalogRegister(json(raw));
      return send(res, 200, 'true');
    } else if (p === '/v1/catalog/deregister') {
      const b = json(raw) as { Node?: string; ServiceID?: string; CheckID?: string };
      if (!b.Node) throw new BadRequest('Must provide node');
      if (b.ServiceID) s.removeService(b.Node, b.ServiceID);
      else if (!b.CheckID) s.removeNode(b.Node);
      return send(res, 200, 'true');
    } else {
      return send(res, 404, `Invalid URL path: not a recognized HTTP API endpoint`, 'text/plain');
    }
    send(res, 200, '');
  }

  private register(b: any, replace: string | null): void {
    if (typeof b?.Name !== 'string' || b.Name === '') throw new BadRequest('Missing service name');
    const weights = { Passing: b.Weights?.Passing ?? 1, Warning: b.Weights?.Warning ?? 1 };
    if (!(weights.Passing >= 1)) throw new BadRequest('Passing must be greater than 0');
    const svc = {
      node: this.o.nodeName,
      ID: b.ID || b.Name,
      Service: b.Name,
      Tags: b.Tags ?? [],
      Address: b.Address ?? '',
      Port: b.Port ?? 0,
      Meta: b.Meta ?? {},
      Weights: weights,
      viaAgent: true,
    };
    const defs: any[] = b.Checks ?? (b.Check ? [b.Check] : []);
    const ids = defs.map(
      (c, i) => c.CheckID || c.ID || (defs.length > 1 ? `service:${svc.ID}:${i + 1}` : `service:${svc.ID}`),
    );
    if (replace !== null && replace !== 'false') {
      for (const c of [...this.state.checks.values()]) {
        if (c.Node === svc.node && c.ServiceID === svc.ID && !ids.includes(c.CheckID)) {
          clearTimeout(c.timer);
          this.state.checks.delete(`${c.Node}\u0000${c.CheckID}`);
        }
      }
    }
    this.state.putService(svc);
    const rec = [...this.state.services.values()].find((s) => s.node === svc.node && s.ID === svc.ID)!;
    defs.forEach((c, i) => {
      this.state.putCheck({ ...c, CheckID: ids[i] }, rec);
    });
  }

  private catalogRegister(b: any): void {
    if (!b?.Node) throw new BadRequest('Must provide node');
    if (!b.Address) throw new BadRequest('Must provide address');
    this.state.addNode(b.Node, b.Address, b.NodeMeta ?? {});
    if (b.Service) {
      if (!b.Service.Service) throw new BadRequest('Must provide service name');
      const id = b.Service.ID || b.Service.Service;
      this.state.putService({
        node: b.Node,
        ID: id,
        Service: b.Service.Service,
        Tags: b.Service.Tags ?? [],
        Address: b.Service.Address ?? '',
        Port: b.Service.Port ?? 0,
        Meta: b.Service.Meta ?? {},
        Weights: { Passing: b.Service.Weights?.Passing ?? 1, Warning: b.Service.Weights?.Warning ?? 1 },
        viaAgent: false,
      });
    }
    // A check names its service by ServiceID; without one it is a node-level check.
    for (const c of b.Checks ?? (b.Check ? [b.Check] : [])) {
      const svc = c.ServiceID ? this.state.services.get(`${b.Node}\u0000${c.ServiceID}`) : undefined;
      this.state.putCheck({ ...c, Node: b.Node, Status: c.Status ?? 'critical' }, svc);
    }
  }

  private async health(
    name: string,
    q: URLSearchParams,
    res: ServerResponse,
    allowed: boolean,
    fault: Fault | undefined,
    signal: AbortSignal,
  ): Promise<void> {
    if (q.has('filter')) throw new BadRequest('the Consul double does not evaluate ?filter');
    const dc = q.get('dc');
    if (dc && dc !== this.o.datacenter) return send(res, 500, 'No path to datacenter', 'text/plain');
    let waitMs = 300_000;
    if (q.has('wait')) {
      try {
        waitMs = Math.min(parseDuration(q.get('wait')!), 600_000);
      } catch {
        throw new BadRequest('Invalid wait time');
      }
    }
    const rawIndex = q.get('index');
    if (rawIndex !== null && !/^\d+$/.test(rawIndex)) throw new BadRequest('Invalid index');
    const index = rawIndex === null ? 0 : Number(rawIndex);
    // Blocking: hang while the service's index has not moved past the one given.
    if (index > 0) await this.state.waitPast(name, index, waitMs + (Math.random() * waitMs) / 16, signal);
    if (signal.aborted) return;
    const passing = q.has('passing') && q.get('passing') !== 'false';
    const tags = q.getAll('tag');
    const headers: Record<string, string> = { 'X-Consul-KnownLeader': 'true', 'X-Consul-LastContact': '0' };
    if (!fault?.omitIndex) headers['X-Consul-Index'] = String(fault?.index ?? this.state.indexOf(name));
    if (!allowed) {
      // Default-deny ACLs filter what a read may see rather than refusing it.
      headers['X-Consul-Results-Filtered-By-ACLs'] = 'true';
      return send(res, 200, '[]', 'application/json', headers);
    }
    const entries = [];
    for (const s of this.state.services.values()) {
      if (s.Service !== name || !tags.every((t) => s.Tags.includes(t))) continue;
      const checks = this.state.checksFor(s);
      if (passing && checks.some((c) => c.Status !== 'passing')) continue;
      const node = this.state.nodes.get(s.node)!;
      entries.push({
        Node: { ...node, TaggedAddresses: { lan: node.Address, wan: node.Address } },
        Service: {
          ID: s.ID,
          Service: s.Service,
          Tags: s.Tags,
          Address: s.Address,
          Meta: s.Meta,
          Port: s.Port,
          Weights: s.Weights,
          EnableTagOverride: false,
          CreateIndex: s.CreateIndex,
          ModifyIndex: s.ModifyIndex,
        },
        Checks: checks.map(({ ttlMs, deregisterAfterMs, criticalSince, timer, ...c }) => ({
          ...c,
          ServiceTags: c.ServiceID ? s.Tags : [],
        })),
      });
    }
    entries.sort(
      (a, b) => a.Node.Node.localeCompare(b.Node.Node) || a.Service.ID.localeCompare(b.Service.ID),
    );
    send(res, 200, JSON.stringify(entries), 'application/json', headers);
  }
}

function json(raw: string): any {
  if (raw.trim() === '') return {};
  try {
    return JSON.parse(raw);
  } catch (err) {
    throw new BadRequest(`Request decode failed: ${(err as Error).message}`);
  }
}

function send(
  res: ServerResponse,
  status: number,
  body: string,
  type = 'application/json',
  headers = {},
): void {
  if (res.writableEnded || res.destroyed) return;
  res.writeHead(status, { 'Content-Type': type, ...headers });
  res.end(body);
}

function readBody(req: IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    req.on('error', reject);
  });
}

function abortableSleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    const done = () => {
      clearTimeout(t);
      signal.removeEventListener('abort', done);
      resolve();
    };
    const t = setTimeout(done, ms);
    signal.addEventListener('abort', done);
  });
}
