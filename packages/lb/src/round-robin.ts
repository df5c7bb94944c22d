import type { Context } from '@kitts/endpoint';
import type { Entry } from '@kitts/sd';
import { type Balancer, checkSource, Derived, type EndpointSource, probe, usable } from './balancer.js';

export interface RoundRobinOptions {
  /**
   * Position of the first pick. By default a random one, so that a fleet of clients
   * started together does not send its first requests to the same instance (go-kit
   * always started at 0).
   */
  start?: number;
}

class RoundRobin<Req, Res> implements Balancer<Req, Res> {
  private readonly derived: Derived<Req, Res, readonly Entry<Req, Res>[]>;
  private cursor: number;

  constructor(source: EndpointSource<Req, Res>, start: number) {
    this.derived = new Derived(source, (entries) => this.build(entries));
    this.cursor = start;
  }

  private build(entries: readonly Entry<Req, Res>[]): readonly Entry<Req, Res>[] {
    return entries;
  }

  pick(_ctx: Context, _request: Req, avoid?: ReadonlySet<string>): Entry<Req, Res> {
    const entries = this.derived.get();
    const n = entries.length;
    let i = this.cursor;
    if (i >= n) i %= n;
    this.cursor = i + 1 === n ? 0 : i + 1;
    const e = entries[i]!;
    if (usable(e, avoid)) return e;
    // Skip to the next usable entry and continue the turn after it, so a skipped entry's
    // turn does not go to its neighbour every time (which would double its load).
    for (let k = 1; k < n; k++) {
      const p = i + k >= n ? i + k - n : i + k;
      const next = entries[p]!;
      if (usable(next, avoid)) {
        this.cursor = p + 1 === n ? 0 : p + 1;
        return next;
      }
    }
    return probe(entries, undefined, i, avoid);
  }
}

/** Each entry in turn, in the set's order (sorted by instance id). */
export function roundRobin<Req, Res>(
  endpointer: EndpointSource<Req, Res>,
  options: RoundRobinOptions = {},
): Balancer<Req, Res> {
  checkSource(endpointer, 'roundRobin');
  const { start } = options;
  if (start !== undefined && !(Number.isInteger(start) && start >= 0)) {
    throw new TypeError(`kitts/lb: roundRobin start must be a non-negative integer, got ${start}`);
  }
  return new RoundRobin(endpointer, start ?? Math.floor(Math.random() * 0x7fffffff));
}
