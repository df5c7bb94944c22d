import { type Context, NoEndpointsError } from '@kitts/endpoint';
import type { EndpointSet, Entry } from '@kitts/sd';

/**
 * Picks one entry of an endpoint set for a request. Throws NoEndpointsError when there is
 * nothing to pick. `avoid` holds instance ids the caller would rather not get (instances
 * that already failed this call, or that a hedge is already waiting on): a balancer picks
 * outside it while it can, and inside it rather than fail.
 */
export interface Balancer<Req = unknown, Res = unknown> {
  pick(ctx: Context, request: Req, avoid?: ReadonlySet<string>): Entry<Req, Res>;
}

/** What balancers read: an `Endpointer` of @kitts/sd, or anything with the same `current()`. */
export interface EndpointSource<Req = unknown, Res = unknown> {
  current(): EndpointSet<Req, Res>;
}

/** The request's key for the key-based balancers. */
export type KeyFunction<Req> = (ctx: Context, request: Req) => string | number | bigint;

export function noEndpoints(): NoEndpointsError {
  return new NoEndpointsError('kitts/lb: no endpoints available');
}

/**
 * The source's current set. An Endpointer throws its registry's error once
 * invalidateOnError has expired; a caller of a balancer sees that as a NoEndpointsError
 * (503) whose `cause` is the registry error.
 */
export function currentSet<Req, Res>(source: EndpointSource<Req, Res>): EndpointSet<Req, Res> {
  try {
    return source.current();
  } catch (err) {
    const why = err instanceof Error ? err.message : String(err);
    throw new NoEndpointsError(`kitts/lb: no endpoints available (${why})`, { cause: err });
  }
}

export function checkSource(source: unknown, who: string): void {
  if (typeof (source as EndpointSource | undefined)?.current !== 'function') {
    throw new TypeError(`kitts/lb: ${who}() needs an Endpointer (an object with a current() method)`);
  }
}

/** True when the entry takes traffic and is not to be avoided. */
export function usable<Req, Res>(e: Entry<Req, Res>, avoid: ReadonlySet<string> | undefined): boolean {
  return (e.available === undefined || e.available()) && (avoid === undefined || !avoid.has(e.instance.id));
}

function available<Req, Res>(e: Entry<Req, Res>): boolean {
  return e.available === undefined || e.available();
}

/**
 * Random draws a balancer makes before it falls back to `probe`. A linear walk from an
 * unusable entry would give all of that entry's share to its next neighbour (an instance
 * whose breaker is open would double the load of the one after it); fresh draws keep the
 * remaining entries' shares even. With a fraction u of entries unusable the walk is
 * reached with probability u^(REDRAWS + 1).
 */
export const REDRAWS = 4;

/**
 * The fallback walk shared by the balancers: from position `start` onwards (wrapping),
 * the first usable entry; failing that the first available one (avoid is a preference);
 * failing that the entry at `start` (every entry is unavailable: use them all).
 * `order` maps positions to entry indexes (ring points, table slots, schedule turns);
 * without it positions are entry indexes.
 */
export function probe<Req, Res>(
  entries: readonly Entry<Req, Res>[],
  order: ArrayLike<number> | undefined,
  start: number,
  avoid: ReadonlySet<string> | undefined,
): Entry<Req, Res> {
  const len = order === undefined ? entries.length : order.length;
  for (let k = 0, p = start; k < len; k++, p = p + 1 === len ? 0 : p + 1) {
    const e = entries[order === undefined ? p : order[p]!]!;
    if (usable(e, avoid)) return e;
  }
  if (avoid !== undefined) {
    for (let k = 0, p = start; k < len; k++, p = p + 1 === len ? 0 : p + 1) {
      const e = entries[order === undefined ? p : order[p]!]!;
      if (available(e)) return e;
    }
  }
  return entries[order === undefined ? start : order[start]!]!;
}

/**
 * What every balancer keeps: the structure derived from the current set, rebuilt once per
 * version (and per entries array, for sources that reuse versions), never per pick. A
 * separate object rather than a base class, so that the property loads on the pick path
 * stay monomorphic however many kinds of balancer an application uses.
 */
export class Derived<Req, Res, S> {
  private version = Number.NaN;
  private entries: readonly Entry<Req, Res>[] | undefined;
  private value: S | undefined;

  constructor(
    private readonly source: EndpointSource<Req, Res>,
    private readonly build: (entries: readonly Entry<Req, Res>[]) => S,
  ) {}

  /** The structure for the current set; throws NoEndpointsError when it is empty. */
  get(): S {
    const set = currentSet(this.source);
    if (set.version !== this.version || set.entries !== this.entries) {
      this.value = set.entries.length === 0 ? undefined : this.build(set.entries);
      this.version = set.version;
      this.entries = set.entries;
    }
    if (this.value === undefined) throw noEndpoints();
    return this.value;
  }
}
