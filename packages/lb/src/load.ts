import type { Context, Endpoint } from '@kitts/endpoint';
import type { Entry, Instance } from '@kitts/sd';

/**
 * An entry whose endpoint counts the calls in flight, and hears when each one ends. The
 * wrapper is made once per entry (kept across set changes while the instance and its
 * endpoint stay), never per pick.
 */
export abstract class TrackedEntry<Req, Res> implements Entry<Req, Res> {
  /** Refreshed when the instance's weight, tags or meta change around the same endpoint. */
  instance: Instance;
  readonly endpoint: Endpoint<Req, Res>;
  readonly available?: () => boolean;
  /** Calls started and not yet settled. */
  pending = 0;

  constructor(public inner: Entry<Req, Res>) {
    this.instance = inner.instance;
    if (inner.available !== undefined) this.available = () => inner.available!();
    const call = inner.endpoint;
    this.endpoint = async (ctx: Context, request: Req): Promise<Res> => {
      const started = this.start();
      try {
        return await call(ctx, request);
      } finally {
        this.end(started);
      }
    };
  }

  /** A call starts; returns what end() will need (a timestamp, or nothing). */
  protected start(): number {
    this.pending++;
    return 0;
  }

  protected end(_started: number): void {
    this.pending--;
  }
}

/**
 * Wrap the entries of a new set, keeping the wrapper (and its counters) of every entry
 * whose instance id and endpoint are unchanged.
 */
export function rewrap<Req, Res, T extends TrackedEntry<Req, Res>>(
  entries: readonly Entry<Req, Res>[],
  previous: ReadonlyMap<string, T>,
  make: (entry: Entry<Req, Res>) => T,
): { tracked: T[]; byId: Map<string, T> } {
  const tracked: T[] = [];
  const byId = new Map<string, T>();
  for (const entry of entries) {
    const old = previous.get(entry.instance.id);
    let t: T;
    if (
      old !== undefined &&
      old.inner.endpoint === entry.endpoint &&
      old.inner.available === entry.available
    ) {
      t = old;
      t.inner = entry;
      t.instance = entry.instance;
    } else {
      t = make(entry);
    }
    tracked.push(t);
    byId.set(entry.instance.id, t);
  }
  return { tracked, byId };
}
