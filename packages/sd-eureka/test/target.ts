// Where the suite runs: against the in-repo Eureka double (the default, and what CI
// uses), or against a real server when EUREKA_URL is set (its base URL, for example
// http://127.0.0.1:8761/eureka). Tests that need the double's hooks skip on a real server.
import { request } from 'node:http';
import { EurekaDouble, type EurekaDoubleOptions } from './double/eureka-double.js';

export const REAL = process.env.EUREKA_URL;

export interface EurekaTarget {
  url: string;
  double: EurekaDouble | undefined;
  close(): Promise<void>;
}

export async function eurekaTarget(options: EurekaDoubleOptions = {}): Promise<EurekaTarget> {
  if (REAL) return { url: REAL.replace(/\/+$/, ''), double: undefined, close: async () => {} };
  const double = await EurekaDouble.start(options);
  return { url: double.url, double, close: () => double.close() };
}

export function uniqueApp(base: string): string {
  return `${base}-${process.pid}-${Math.random().toString(36).slice(2, 8)}`.toUpperCase();
}

/** One request on its own connection (no keep-alive: the suites check for leaked sockets). */
export function raw(
  method: string,
  url: string,
  body?: unknown,
): Promise<{ status: number; text: string; json: any }> {
  return new Promise((resolve, reject) => {
    const headers: Record<string, string> = { accept: 'application/json' };
    if (body !== undefined) headers['content-type'] = 'application/json';
    const req = request(url, { method, agent: false, headers }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => {
        const text = Buffer.concat(chunks).toString('utf8');
        let json: unknown;
        try {
          json = JSON.parse(text);
        } catch {}
        resolve({ status: res.statusCode ?? 0, text, json });
      });
    });
    req.on('error', reject);
    req.end(body === undefined ? undefined : JSON.stringify(body));
  });
}

/** An instance as Eureka's own Java client registers it (JSON codec). */
export function instanceBody(
  app: string,
  id: string,
  ip: string,
  status = 'UP',
  metadata: Record<string, string> = {},
) {
  return {
    instance: {
      instanceId: id,
      hostName: `${id}.acme.org`,
      app,
      ipAddr: ip,
      vipAddress: app.toLowerCase(),
      secureVipAddress: app.toLowerCase(),
      status,
      port: { $: 8080, '@enabled': 'true' },
      securePort: { $: 443, '@enabled': 'false' },
      dataCenterInfo: { '@class': 'com.netflix.appinfo.InstanceInfo$DefaultDataCenterInfo', name: 'MyOwn' },
      leaseInfo: { renewalIntervalInSecs: 30, durationInSecs: 90 },
      metadata,
    },
  };
}
