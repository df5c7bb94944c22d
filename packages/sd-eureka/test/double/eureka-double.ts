// A Eureka server double: a real HTTP server on 127.0.0.1 serving Eureka's REST
// operations (Netflix's "Eureka REST operations" page; Spring Cloud serves them under
// /eureka, Netflix's own server under /eureka/v2) in JSON. Not shipped (outside the
// package's `files`). Leases expire after leaseInfo.durationInSecs without a renewal and
// are evicted by a task that runs every `evictionInterval` (Eureka: 60 s). Not modelled:
// XML, delta fetches, the 30 s read-only response cache, self-preservation, replication.
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface EurekaDoubleOptions {
  /** Where the REST operations live. Default "/eureka". */
  basePath?: string;
  /** How often expired leases are evicted (Eureka: 60 s). */
  evictionInterval?: number;
}

export interface RecordedRequest {
  method: string;
  path: string;
  query: URLSearchParams;
  body: any;
}

export interface Fault {
  status?: number;
  body?: string;
  delay?: number;
  /** Never answer; the connection stays open until the client gives up or the double closes. */
  drop?: boolean;
}

interface Lease {
  instance: Record<string, any>;
  registeredAt: number;
  lastRenewal: number;
  durationMs: number;
  lastDirtyTimestamp: number;
  overriddenStatus: string | undefined;
}

const STATUSES = new Set(['UP', 'DOWN', 'STARTING', 'OUT_OF_SERVICE', 'UNKNOWN']);

export class EurekaDouble {
  readonly requests: RecordedRequest[] = [];
  hook: ((req: RecordedRequest) => Fault | undefined) | undefined;
  /** APP -> instanceId -> lease. */
  readonly apps = new Map<string, Map<string, Lease>>();
  private readonly evictor: NodeJS.Timeout;
  private readonly base: string;

  private constructor(
    private readonly server: Server,
    options: EurekaDoubleOptions,
  ) {
    this.base = options.basePath ?? '/eureka';
    this.evictor = setInterval(() => this.evict(), options.evictionInterval ?? 60_000);
  }

  static async start(options: EurekaDoubleOptions = {}): Promise<EurekaDouble> {
    const server = createServer();
    const d = new EurekaDouble(server, options);
    server.on('request', (req, res) => void d.handle(req, res));
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    return d;
  }

  get url(): string {
    return `http://127.0.0.1:${(this.server.address() as AddressInfo).port}${this.base}`;
  }

  /** Forget a lease, as an eviction or a server restart would. */
  forget(app: string, id: string): boolean {
    return this.apps.get(app.toUpperCase())?.delete(id) ?? false;
  }

  async close(): Promise<void> {
    clearInterval(this.evictor);
    this.server.closeAllConnections();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', 'http://eureka');
    const raw = await readBody(req);
    let body: any;
    if (raw !== '') {
      try {
        body = JSON.parse(raw);
      } catch {
        return send(res, 400, 'malformed JSON');
      }
    }
    const rec: RecordedRequest = {
      method: req.method ?? 'GET',
      path: url.pathname,
      query: url.searchParams,
      body,
    };
    this.requests.push(rec);
    const fault = this.hook?.(rec);
    if (fault?.drop) return;
    if (fault?.delay) {
      // Cut short when the client gives up, so no timer outlives the request.
      await new Promise<void>((resolve) => {
        const t = setTimeout(done, fault.delay);
        res.once('close', done);
        function done() {
          clearTimeout(t);
          res.off('close', done);
          resolve();
        }
      });
    }
    if (fault?.status !== undefined) return send(res, fault.status, fault.body ?? '');
    if (!url.pathname.startsWith(`${this.base}/apps`)) return send(res, 404, '');
    const parts = url.pathname
      .slice(this.base.length + 5)
      .split('/')
      .filter(Boolean)
      .map(decodeURIComponent);
    const [appName, id, sub] = parts;
    const APP = appName?.toUpperCase();
    const leases = APP === undefined ? undefined : this.apps.get(APP);
    const lease = id === undefined ? undefined : leases?.get(id);
    const m = rec.method;
    if (m === 'GET' && !(req.headers.accept ?? '').includes('json')) {
      return send(res, 406, 'the Eureka double only answers JSON (send Accept: application/json)');
    }
    if (m === 'GET' && APP === undefined) return this.sendAll(res);
    if (m === 'GET' && id === undefined) {
      const list = [...(leases?.values() ?? [])];
      if (list.length === 0) return send(res, 404, '');
      return sendJson(res, { application: { name: APP, instance: list.map((l) => this.view(l)) } });
    }
    if (m === 'GET' && sub === undefined) {
      return lease ? sendJson(res, { instance: this.view(lease) }) : send(res, 404, '');
    }
    if (m === 'POST' && id === undefined) return this.register(APP!, body, res);
    if (m === 'PUT' && sub === undefined) {
      if (!lease) return send(res, 404, '');
      // A client whose copy is newer than ours must register again: Eureka answers 404.
      const dirty = Number(rec.query.get('lastDirtyTimestamp') ?? 0);
      if (dirty > lease.lastDirtyTimestamp) return send(res, 404, '');
      lease.lastRenewal = Date.now();
      return send(res, 200, '');
    }
    if (m === 'DELETE' && sub === undefined) {
      return leases?.delete(id!) ? send(res, 200, '') : send(res, 404, '');
    }
    if (sub === 'status' && (m === 'PUT' || m === 'DELETE')) {
      if (!lease) return send(res, 404, '');
      const value = rec.query.get('value');
      if (m === 'PUT' && (value === null || !STATUSES.has(value))) return send(res, 500, '');
      lease.overriddenStatus = m === 'PUT' ? value! : undefined;
      if (m === 'DELETE' && value && STATUSES.has(value)) lease.instance.status = value;
      return send(res, 200, '');
    }
    if (sub === 'metadata' && m === 'PUT') {
      if (!lease) return send(res, 404, '');
      for (const [k, v] of rec.query) lease.instance.metadata = { ...lease.instance.metadata, [k]: v };
      return send(res, 200, '');
    }
    send(res, 405, '');
  }

  private register(APP: string, body: any, res: ServerResponse): void {
    const i = body?.instance;
    // The checks and messages of Eureka's ApplicationResource.addInstance.
    const missing = !i
      ? 'Missing instance'
      : !(i.instanceId || i.hostName)
        ? 'Missing instanceId'
        : !i.hostName
          ? 'Missing hostname'
          : !i.ipAddr
            ? 'Missing ip address'
            : !i.app
              ? 'Missing appName'
              : String(i.app).toUpperCase() !== APP
                ? `Mismatched appName, expecting ${APP} but was ${i.app}`
                : !i.dataCenterInfo
                  ? 'Missing dataCenterInfo'
                  : !i.dataCenterInfo.name
                    ? 'Missing dataCenterInfo Name'
                    : undefined;
    if (missing) {
      send(res, 400, missing);
      return;
    }
    const id = String(i.instanceId || i.hostName);
    let leases = this.apps.get(APP);
    if (!leases) this.apps.set(APP, (leases = new Map()));
    const old = leases.get(id);
    const now = Date.now();
    leases.set(id, {
      instance: { ...i, app: APP, instanceId: id, status: STATUSES.has(i.status) ? i.status : 'UP' },
      registeredAt: old?.registeredAt ?? now,
      lastRenewal: now,
      durationMs: (Number(i.leaseInfo?.durationInSecs) || 90) * 1000,
      lastDirtyTimestamp: Number(i.lastDirtyTimestamp) || now,
      overriddenStatus: old?.overriddenStatus,
    });
    send(res, 204, '');
  }

  private view(l: Lease): Record<string, unknown> {
    return {
      ...l.instance,
      status: l.overriddenStatus ?? l.instance.status,
      overriddenStatus: l.overriddenStatus ?? 'UNKNOWN',
      leaseInfo: {
        renewalIntervalInSecs: l.instance.leaseInfo?.renewalIntervalInSecs ?? 30,
        durationInSecs: l.durationMs / 1000,
        registrationTimestamp: l.registeredAt,
        lastRenewalTimestamp: l.lastRenewal,
        evictionTimestamp: 0,
        serviceUpTimestamp: l.registeredAt,
      },
      metadata: l.instance.metadata ?? { '@class': 'java.util.Collections$EmptyMap' },
      lastDirtyTimestamp: String(l.lastDirtyTimestamp),
      lastUpdatedTimestamp: String(l.lastRenewal),
      isCoordinatingDiscoveryServer: 'false',
      actionType: 'ADDED',
    };
  }

  private sendAll(res: ServerResponse): void {
    const application = [...this.apps]
      .filter(([, leases]) => leases.size > 0)
      .map(([name, leases]) => ({ name, instance: [...leases.values()].map((l) => this.view(l)) }));
    sendJson(res, { applications: { versions__delta: '1', apps__hashcode: '', application } });
  }

  private evict(): void {
    const now = Date.now();
    for (const leases of this.apps.values()) {
      for (const [id, l] of leases) if (now > l.lastRenewal + l.durationMs) leases.delete(id);
    }
  }
}

function send(res: ServerResponse, status: number, body: string): void {
  if (res.writableEnded || res.destroyed) return;
  res.writeHead(status, { 'Content-Type': 'text/plain' });
  res.end(body);
}

function sendJson(res: ServerResponse, value: unknown): void {
  res.writeHead(200, { 'Content-Type': 'application/json' });
  res.end(JSON.stringify(value));
}

function readBody(req: IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    req.on('error', reject);
  });
}
