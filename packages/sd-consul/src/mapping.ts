import type { Instance } from '@kitts/sd';

/** One element of `GET /v1/health/service/:name`, the fields this package reads. */
export interface ServiceEntry {
  Node?: { Node?: string; Address?: string };
  Service?: {
    ID?: string;
    Service?: string;
    Tags?: string[] | null;
    Address?: string;
    Port?: number;
    Meta?: Record<string, string> | null;
    Weights?: { Passing?: number; Warning?: number } | null;
  };
  Checks?: { Status?: string }[] | null;
}

/**
 * `host:port`, with IPv6 hosts in brackets. Only an IPv6 literal contains ':' (host names
 * and IPv4 addresses cannot), which is far cheaper to test than net.isIPv6.
 */
export function joinHostPort(host: string, port: number): string {
  return host.includes(':') && host[0] !== '[' ? `[${host}]:${port}` : `${host}:${port}`;
}

/**
 * Consul entries as kitts Instances: id = Service.ID, address = Service.Address or else
 * Node.Address, Service.Meta -> meta, Service.Tags -> tags, and the weight Consul's DNS
 * would use: Weights.Warning while any check warns, else Weights.Passing. Entries that
 * lack every tag in `mustHave` are dropped (Consul filters by one tag only; see instancer).
 */
export function toInstances(entries: unknown, mustHave: readonly string[]): Instance[] {
  if (!Array.isArray(entries)) throw new TypeError('Consul answered with something other than a JSON array');
  const out: Instance[] = [];
  for (const entry of entries as ServiceEntry[]) {
    const svc = entry?.Service;
    if (svc === undefined || typeof svc.ID !== 'string') continue;
    const tags = svc.Tags ?? [];
    if (!hasAll(tags, mustHave)) continue;
    const host = svc.Address || entry.Node?.Address || '';
    if (host === '') continue;
    const warning = (entry.Checks ?? []).some((c) => c?.Status === 'warning');
    const w = warning ? svc.Weights?.Warning : svc.Weights?.Passing;
    const inst: { -readonly [K in keyof Instance]: Instance[K] } = {
      id: svc.ID,
      address: joinHostPort(host, svc.Port ?? 0),
    };
    if (typeof w === 'number') inst.weight = w;
    if (tags.length > 0) inst.tags = tags;
    if (svc.Meta && Object.keys(svc.Meta).length > 0) inst.meta = svc.Meta;
    out.push(inst);
  }
  return out;
}

function hasAll(tags: readonly string[], wanted: readonly string[]): boolean {
  for (const t of wanted) if (!tags.includes(t)) return false;
  return true;
}
