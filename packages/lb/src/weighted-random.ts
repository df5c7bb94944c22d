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
import { makeRng, type Rng } from './rng.js';
import { weightsOf } from './weights.js';

export interface WeightedRandomOptions {
  /** Seed for a reproducible sequence; Math.random without one. */
  seed?: number | string;
}

interface AliasTable<Req, Res> {
  entries: readonly Entry<Req, Res>[];
  /** Probability of keeping column i rather than taking its alias. */
  prob: Float64Array;
  alias: Uint32Array;
}

class WeightedRandom<Req, Res> implements Balancer<Req, Res> {
  private readonly derived: Derived<Req, Res, AliasTable<Req, Res>>;
  constructor(
    source: EndpointSource<Req, Res>,
    private readonly rng: Rng,
  ) {
    this.derived = new Derived(source, (entries) => this.build(entries));
  }

  private build(entries: readonly Entry<Req, Res>[]): AliasTable<Req, Res> {
    return { entries, ...aliasTable(weightsOf(entries)) };
  }

  pick(_ctx: Context, _request: Req, avoid?: ReadonlySet<string>): Entry<Req, Res> {
    const { entries, prob, alias } = this.derived.get();
    let i = 0;
    let e: Entry<Req, Res> | undefined;
    for (let r = 0; r <= REDRAWS && (e === undefined || !usable(e, avoid)); r++) {
      // One draw picks the column (integer part) and the coin (fractional part).
      const u = this.rng() * entries.length;
      const column = Math.floor(u);
      i = u - column < prob[column]! ? column : alias[column]!;
      e = entries[i]!;
    }
    return usable(e!, avoid) ? e! : probe(entries, undefined, i, avoid);
  }
}

/** Vose's alias method: O(n) to build, O(1) per draw, exact proportions. */
export function aliasTable(weights: Float64Array): { prob: Float64Array; alias: Uint32Array } {
  const n = weights.length;
  let total = 0;
  for (const w of weights) total += w;
  const scaled = weights.map((w) => (w * n) / total);
  const prob = new Float64Array(n);
  const alias = new Uint32Array(n);
  const small: number[] = [];
  const large: number[] = [];
  for (let i = n - 1; i >= 0; i--) (scaled[i]! < 1 ? small : large).push(i);
  while (small.length > 0 && large.length > 0) {
    const s = small.pop()!;
    const l = large.pop()!;
    prob[s] = scaled[s]!;
    alias[s] = l;
    scaled[l] = scaled[l]! + scaled[s]! - 1;
    (scaled[l]! < 1 ? small : large).push(l);
  }
  // What is left is 1 up to rounding error.
  for (const i of large) prob[i] = 1;
  for (const i of small) prob[i] = 1;
  for (let i = 0; i < n; i++) if (prob[i] === 1) alias[i] = i;
  return { prob, alias };
}

/** A random entry with probability proportional to its weight (alias method, O(1) per pick). */
export function weightedRandom<Req, Res>(
  endpointer: EndpointSource<Req, Res>,
  options: WeightedRandomOptions = {},
): Balancer<Req, Res> {
  checkSource(endpointer, 'weightedRandom');
  return new WeightedRandom(endpointer, makeRng(options.seed));
}
