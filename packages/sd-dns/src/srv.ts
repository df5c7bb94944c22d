import type { Instance } from '@kitts/sd';

/** An SRV answer as node:dns gives it. */
export interface SrvRecord {
  readonly name: string;
  readonly port: number;
  readonly priority: number;
  readonly weight: number;
}

/** Addresses of one target, when targets are resolved. */
export type TargetAddresses = readonly string[];

/**
 * Groups records by priority, lowest first, after dropping the ones with port 0 (a
 * record saying "no service here"; go-kit failed the whole lookup on one). Each group
 * keeps the answer's order.
 */
export function priorityGroups(records: readonly SrvRecord[]): { groups: SrvRecord[][]; portZero: number } {
  const byPriority = new Map<number, SrvRecord[]>();
  let portZero = 0;
  for (const r of records) {
    if (r.port === 0) {
      portZero++;
      continue;
    }
    let g = byPriority.get(r.priority);
    if (g === undefined) byPriority.set(r.priority, (g = []));
    g.push(r);
  }
  const groups = [...byPriority.entries()].sort((a, b) => a[0] - b[0]).map(([, g]) => g);
  return { groups, portZero };
}

const trimDot = (name: string) => (name.endsWith('.') ? name.slice(0, -1) : name);

function hostPort(host: string, port: number): string {
  return host.includes(':') ? `[${host}]:${port}` : `${host}:${port}`;
}

/**
 * The instances of one priority group. SRV weight becomes Instance.weight; when every
 * record of the group has weight 0 the weights are left out (RFC 2782: then all are
 * equally likely). With `addresses`, each target becomes one instance per address,
 * sharing the target's weight between them; targets without addresses are left out.
 */
export function groupInstances(
  group: readonly SrvRecord[],
  addresses?: ReadonlyMap<string, TargetAddresses>,
): Instance[] {
  const weighted = group.some((r) => r.weight > 0);
  const out: Instance[] = [];
  for (const r of group) {
    const target = trimDot(r.name);
    const meta = { target, priority: String(r.priority) };
    if (addresses === undefined) {
      const address = hostPort(target, r.port);
      out.push(weighted ? { id: address, address, weight: r.weight, meta } : { id: address, address, meta });
      continue;
    }
    const ips = addresses.get(r.name) ?? [];
    for (const ip of ips) {
      const address = hostPort(ip, r.port);
      out.push(
        weighted
          ? { id: address, address, weight: r.weight / ips.length, meta }
          : { id: address, address, meta },
      );
    }
  }
  return out;
}
