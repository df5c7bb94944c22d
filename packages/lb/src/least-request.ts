import type { Context } from '@kitts/endpoint';
import type { Entry } from '@kitts/sd';
import {
  type Balancer,
  checkSource,
  Derived,
  type EndpointSource,
  probe,
  REDRAWS,
  usable,
} from './balancer.js';
import { rewrap, TrackedEntry } from './load.js';
import { makeRng, type Rng } from './rng.js';
import { allEqual, weightsOf } from './weights.js';

export interface LeastRequestOptions {
  /** Entries sampled per pick (Envoy's choice_count); 2 by default: the power of two choices. */
  choices?: number;
  /** Seed for a reproducible sequence; Math.random without one. */
  seed?: number | string;
}

class Counted<Req, Res> extends TrackedEntry<Req, Res> {
  /** 1 / weight, or 1 when every weight is equal. */
  inverseWeight = 1;
}

interface State<Req, Res> {
  tracked: Counted<Req, Res>[];
}

class LeastRequest<Req, Res> implements Balancer<Req, Res> {
  private readonly derived: Derived<Req, Res, State<Req, Res>>;
  private byId = new Map<string, Counted<Req, Res>>();

  constructor(
    source: EndpointSource<Req, Res>,
    private readonly choices: number,
    private readonly rng: Rng,
  ) {
    this.derived = new Derived(source, (entries) => this.build(entries));
  }

  private build(entries: readonly Entry<Req, Res>[]): State<Req, Res> {
    const { tracked, byId } = rewrap(entries, this.byId, (e) => new Counted(e));
    this.byId = byId;
    const weights = weightsOf(entries);
    const equal = allEqual(weights);
    for (let i = 0; i < tracked.length; i++) tracked[i]!.inverseWeight = equal ? 1 : 1 / weights[i]!;
    return { tracked };
  }

  pick(_ctx: Context, _request: Req, avoid?: ReadonlySet<string>): Entry<Req, Res> {
    const { tracked } = this.derived.get();
    const n = tracked.length;
    let best: Counted<Req, Res> | undefined;
    let bestLoad = 0;
    // Envoy samples with replacement and keeps the first of equals.
    for (let c = 0; c < this.choices; c++) {
      let i = Math.floor(this.rng() * n);
      let e = tracked[i]!;
      for (let r = 0; r < REDRAWS && !usable(e, avoid); r++) {
        i = Math.floor(this.rng() * n);
        e = tracked[i]!;
      }
      if (!usable(e, avoid)) e = probe(tracked, undefined, i, avoid) as Counted<Req, Res>;
      const load = (e.pending + 1) * e.inverseWeight;
      if (best === undefined || load < bestLoad) {
        best = e;
        bestLoad = load;
      }
    }
    return best!;
  }
}

/**
 * Envoy's least-request balancer: sample `choices` entries at random, take the one with
 * the fewest calls in flight (with unequal weights, the fewest per unit of weight). It
 * counts calls made through the entries it returns; calls made some other way are not
 * seen.
 */
export function leastRequest<Req, Res>(
  endpointer: EndpointSource<Req, Res>,
  options: LeastRequestOptions = {},
): Balancer<Req, Res> {
  checkSource(endpointer, 'leastRequest');
  const { choices = 2, seed } = options;
  if (!(Number.isInteger(choices) && choices >= 1)) {
    throw new TypeError(`kitts/lb: leastRequest choices must be a positive integer, got ${choices}`);
  }
  return new LeastRequest(endpointer, choices, makeRng(seed));
}
