// A Consul agent stand-in with ACLs on (default deny), for the token tests: a real HTTP
// server on 127.0.0.1 answering the calls sd-consul makes (health query with blocking,
// service register / deregister, TTL check pass). It records how every request carried
// its token. With `echoToken`, a refusal quotes the token it got back, as a careless
// proxy or an old agent might: what the client does with that is what is tested.
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface Recorded {
  method: string;
  path: string;
  query: string;
  /** The X-Consul-Token header. */
  header: string | undefined;
}

interface Service {
  ID: string;
  Service: string;
  Address: string;
  Port: number;
}

export class AclAgent {
  readonly requests: Recorded[] = [];
  private readonly services = new Map<string, Service>();
  private index = 1;
  private readonly waiters = new Set<() => void>();

  private constructor(
    private readonly server: Server,
    private readonly token: string,
    readonly echoToken: boolean,
  ) {}

  static async start(token: string, { echoToken = false } = {}): Promise<AclAgent> {
    const server = createServer();
    const agent = new AclAgent(server, token, echoToken);
    server.on('request', (req, res) => void agent.handle(req, res));
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    return agent;
  }

  get port(): number {
    return (this.server.address() as AddressInfo).port;
  }

  close(): Promise<void> {
    for (const w of this.waiters) w();
    this.server.closeAllConnections();
    return new Promise((resolve) => this.server.close(() => resolve()));
  }

  private changed(): void {
    this.index++;
    for (const w of [...this.waiters]) w();
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', 'http://agent');
    const header = req.headers['x-consul-token'];
    const sent = typeof header === 'string' ? header : undefined;
    this.requests.push({ method: req.method ?? '', path: url.pathname, query: url.search, header: sent });
    const body = await new Promise<string>((resolve) => {
      let text = '';
      req.on('data', (c: Buffer) => {
        text += c.toString('utf8');
      });
      req.on('end', () => resolve(text));
    });
    const given = sent ?? url.searchParams.get('token') ?? '';
    if (given !== this.token) {
      const why = this.echoToken ? `Permission denied: token "${given}" not found` : 'ACL not found';
      res.writeHead(403, { 'content-type': 'text/plain' });
      res.end(why);
      return;
    }
    const json = (status: number, value: unknown, headers: Record<string, string> = {}) => {
      res.writeHead(status, { 'content-type': 'application/json', ...headers });
      res.end(JSON.stringify(value));
    };
    const p = url.pathname;
    if (req.method === 'GET' && p.startsWith('/v1/health/service/')) {
      const name = decodeURIComponent(p.slice('/v1/health/service/'.length));
      const index = Number(url.searchParams.get('index') ?? '0');
      if (index >= this.index) {
        // A blocking query: answer on the next change or after `wait` (short here).
        await new Promise<void>((resolve) => {
          const done = () => {
            this.waiters.delete(done);
            clearTimeout(timer);
            resolve();
          };
          const timer = setTimeout(done, 500);
          this.waiters.add(done);
        });
      }
      const entries = [...this.services.values()]
        .filter((s) => s.Service === name)
        .map((s) => ({
          Node: { Node: 'n1', Address: '127.0.0.1' },
          Service: s,
          Checks: [{ Status: 'passing' }],
        }));
      json(200, entries, { 'x-consul-index': String(this.index) });
      return;
    }
    if (req.method === 'PUT' && p === '/v1/agent/service/register') {
      const b = JSON.parse(body) as { ID: string; Name: string; Address: string; Port: number };
      this.services.set(b.ID, { ID: b.ID, Service: b.Name, Address: b.Address, Port: b.Port });
      this.changed();
      json(200, null);
      return;
    }
    if (req.method === 'PUT' && p.startsWith('/v1/agent/check/pass/')) {
      const id = decodeURIComponent(p.slice('/v1/agent/check/pass/'.length)).replace(/^service:/, '');
      if (this.services.has(id)) json(200, null);
      else json(404, `Unknown check ID "service:${id}"`);
      return;
    }
    if (req.method === 'PUT' && p.startsWith('/v1/agent/service/deregister/')) {
      this.services.delete(decodeURIComponent(p.slice('/v1/agent/service/deregister/'.length)));
      this.changed();
      json(200, null);
      return;
    }
    json(404, `no handler for ${req.method} ${p}`);
  }
}
