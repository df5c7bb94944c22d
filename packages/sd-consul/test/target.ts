// Where the suite runs: against the in-repo Consul double (the default, and what CI
// uses), or against a real agent when CONSUL_HTTP_ADDR is set (CONSUL_HTTP_TOKEN is
// used when given). Tests that need the double's fault hooks skip on a real agent.
import { request } from 'node:http';
import Consul from 'consul';
import { ConsulDouble, type ConsulDoubleOptions } from './double/consul-double.js';

export interface ConsulTarget {
  host: string;
  port: number;
  /** Present when running against the double. */
  double: ConsulDouble | undefined;
  /** An ACL token with write rights, if the target needs one. */
  token: string | undefined;
  /** A new client; destroy it when done (it keeps sockets alive). */
  client(): Consul;
  /** Registers a service on an external node through /v1/catalog/register. */
  catalogRegister(body: Record<string, unknown>): Promise<void>;
  catalogDeregister(node: string): Promise<void>;
  close(): Promise<void>;
}

export const REAL = process.env.CONSUL_HTTP_ADDR;

export async function consulTarget(options: ConsulDoubleOptions = {}): Promise<ConsulTarget> {
  let host: string;
  let port: number;
  let double: ConsulDouble | undefined;
  let token: string | undefined;
  if (REAL) {
    const u = new URL(REAL.includes('://') ? REAL : `http://${REAL}`);
    host = u.hostname;
    port = Number(u.port || 8500);
    token = process.env.CONSUL_HTTP_TOKEN || undefined;
  } else {
    double = await ConsulDouble.start(options);
    host = '127.0.0.1';
    port = double.port;
    token = options.aclToken;
  }
  const call = async (path: string, body: unknown) => {
    const { status, text } = await rawRequest(host, port, 'PUT', path, JSON.stringify(body), token);
    if (status !== 200) throw new Error(`${path}: ${status} ${text}`);
  };
  return {
    host,
    port,
    double,
    token,
    client: () => new Consul({ host, port }),
    catalogRegister: (body) => call('/v1/catalog/register', body),
    catalogDeregister: (node) => call('/v1/catalog/deregister', { Node: node }),
    close: async () => {
      await double?.close();
    },
  };
}

/** A service name no other test (or earlier run against a real agent) uses. */
export function uniqueName(base: string): string {
  return `${base}-${process.pid}-${Math.random().toString(36).slice(2, 8)}`;
}

/** go-kit's Consul fixture (sd/consul/instancer_test.go), as catalog registrations. */
export function goKitFixture(service: string, prefix: string): Record<string, unknown>[] {
  return [
    {
      Node: `${prefix}-app00.local`,
      Address: '10.0.0.0',
      Service: { ID: 'search-api-0', Service: service, Port: 8000, Tags: ['api', 'v1'] },
    },
    {
      Node: `${prefix}-app01.local`,
      Address: '10.0.0.1',
      Service: { ID: 'search-api-1', Service: service, Port: 8001, Tags: ['api', 'v2'] },
    },
    {
      Node: `${prefix}-app01.local`,
      Address: '10.0.0.1',
      Service: { ID: 'search-db-0', Service: service, Address: '10.0.0.10', Port: 9000, Tags: ['db'] },
    },
  ];
}

/** One request on its own connection (no keep-alive: the suites check for leaked sockets). */
export function rawRequest(
  host: string,
  port: number,
  method: string,
  path: string,
  body?: string,
  token?: string,
): Promise<{ status: number; text: string; headers: Record<string, string | string[] | undefined> }> {
  return new Promise((resolve, reject) => {
    const headers: Record<string, string> = token ? { 'x-consul-token': token } : {};
    const req = request({ host, port, method, path, agent: false, headers }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () =>
        resolve({
          status: res.statusCode ?? 0,
          text: Buffer.concat(chunks).toString('utf8'),
          headers: res.headers,
        }),
      );
    });
    req.on('error', reject);
    req.end(body);
  });
}
