import type { Instance } from '@kitts/sd';

/** A port as Eureka's JSON codec writes it: `{ "$": 8080, "@enabled": "true" }` (or a bare number). */
export type EurekaPort = number | { $: number | string; '@enabled'?: string | boolean };

/** The fields of an instance in `GET /apps/{APP}` this package reads. */
export interface EurekaInstanceInfo {
  instanceId?: string;
  hostName?: string;
  app?: string;
  ipAddr?: string;
  status?: string;
  port?: EurekaPort;
  securePort?: EurekaPort;
  metadata?: Record<string, string>;
}

function portOf(p: EurekaPort | undefined): { port: number; enabled: boolean } | undefined {
  if (p === undefined || p === null) return undefined;
  if (typeof p === 'number') return { port: p, enabled: true };
  const port = Number(p.$);
  if (!Number.isInteger(port)) return undefined;
  return { port, enabled: p['@enabled'] === undefined || String(p['@enabled']) === 'true' };
}

/**
 * `GET /apps/{APP}` as kitts Instances. Only instances whose status is UP are served
 * (go-kit's adapter served every status, DOWN and OUT_OF_SERVICE included). id =
 * instanceId (else hostName), address = ipAddr (else hostName) with the port, or the
 * secure port when only that one is enabled; the metadata become meta, and a numeric
 * metadata[weightKey] the weight.
 */
export function toInstances(body: unknown, weightKey: string): Instance[] {
  const app = (body as { application?: { instance?: unknown } } | null)?.application;
  if (app === undefined || app === null || typeof app !== 'object') {
    throw new TypeError('Eureka answered without an "application" object');
  }
  // Eureka's JSON codecs have written a single instance as an object rather than a list.
  const list = app.instance === undefined ? [] : Array.isArray(app.instance) ? app.instance : [app.instance];
  const out: Instance[] = [];
  for (const i of list as EurekaInstanceInfo[]) {
    if (i?.status !== 'UP') continue;
    const host = i.ipAddr || i.hostName;
    const id = i.instanceId || i.hostName;
    const plain = portOf(i.port);
    const secure = portOf(i.securePort);
    const port = plain?.enabled ? plain.port : secure?.enabled ? secure.port : undefined;
    if (!host || !id || port === undefined) continue;
    const inst: { -readonly [K in keyof Instance]: Instance[K] } = {
      id,
      // Only an IPv6 literal contains ':'; far cheaper to test than net.isIPv6.
      address: host.includes(':') && host[0] !== '[' ? `[${host}]:${port}` : `${host}:${port}`,
    };
    const meta: Record<string, string> = {};
    for (const [k, v] of Object.entries(i.metadata ?? {}))
      if (k !== '@class' && typeof v === 'string') meta[k] = v;
    if (Object.keys(meta).length > 0) inst.meta = meta;
    const w = Number(meta[weightKey]);
    if (meta[weightKey] !== undefined && Number.isFinite(w) && w >= 0) inst.weight = w;
    out.push(inst);
  }
  return out;
}
