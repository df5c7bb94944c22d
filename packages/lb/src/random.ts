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

export interface RandomOptions {
  /** Seed for a reproducible sequence; Math.random without one. */
  seed?: number | string;
}

class RandomBalancer<Req, Res> implements Balancer<Req, Res> {
  private readonly derived: Derived<Req, Res, readonly Entry<Req, Res>[]>;
  constructor(
    source: EndpointSource<Req, Res>,
    private readonly rng: Rng,
  ) {
    this.derived = new Derived(source, (entries) => this.build(entries));
  }

  private build(entries: readonly Entry<Req, Res>[]): readonly Entry<Req, Res>[] {
    return entries;
  }

  pick(_ctx: Context, _request: Req, avoid?: ReadonlySet<string>): Entry<Req, Res> {
    const entries = this.derived.get();
    let i = Math.floor(this.rng() * entries.length);
    let e = entries[i]!;
    for (let r = 0; r < REDRAWS && !usable(e, avoid); r++) {
      i = Math.floor(this.rng() * entries.length);
      e = entries[i]!;
    }
    return usable(e, avoid) ? e : probe(entries, undefined, i, avoid);
  }
}

/** A uniformly random entry. Weights are ignored: see weightedRandom. */
export function random<Req, Res>(
  endpointer: EndpointSource<Req, Res>,
  options: RandomOptions = {},
): Balancer<Req, Res> {
  checkSource(endpointer, 'random');
  return new RandomBalancer(endpointer, makeRng(options.seed));
}
