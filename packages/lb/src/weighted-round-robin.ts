import type { Context } from '@kitts/endpoint';
import type { Entry } from '@kitts/sd';
import { type Balancer, checkSource, Derived, type EndpointSource, probe, usable } from './balancer.js';
import { allEqual, weightsOf } from './weights.js';

/**
 * Largest schedule precomputed, counted in the work it takes (turns x entries: a few ms
 * at the limit, paid on every set change). Beyond it, or with fractional weights, picks
 * run nginx's loop directly, O(n) each, as nginx does.
 */
const SCHEDULE_BUDGET = 1 << 22;

interface State<Req, Res> {
  entries: readonly Entry<Req, Res>[];
  weights: Float64Array;
  /** One period of nginx's sequence (entry indexes), or undefined for plain rotation. */
  schedule: Uint32Array | undefined;
  /** Current weights, for the direct loop (when there is no schedule and weights differ). */
  current: Float64Array | undefined;
  total: number;
  /** Some entry has an available() method: the direct loop must ask each one. */
  checks: boolean;
}

class WeightedRoundRobin<Req, Res> implements Balancer<Req, Res> {
  private readonly derived: Derived<Req, Res, State<Req, Res>>;

  constructor(source: EndpointSource<Req, Res>) {
    this.derived = new Derived(source, (entries) => this.build(entries));
  }
  private turn = 0;

  private build(entries: readonly Entry<Req, Res>[]): State<Req, Res> {
    // Membership or weights changed: start a new period from zero current weights, as
    // nginx does when its upstream is reconfigured.
    this.turn = 0;
    const weights = weightsOf(entries);
    let total = 0;
    for (const w of weights) total += w;
    const checks = entries.some((e) => e.available !== undefined);
    const state: State<Req, Res> = {
      entries,
      weights,
      schedule: undefined,
      current: undefined,
      total,
      checks,
    };
    if (allEqual(weights)) return state; // the sequence is a plain rotation
    const period = integerPeriod(weights);
    if (period !== undefined && period * entries.length <= SCHEDULE_BUDGET) {
      state.schedule = schedule(weights, period);
    } else {
      state.current = new Float64Array(entries.length);
    }
    return state;
  }

  pick(_ctx: Context, _request: Req, avoid?: ReadonlySet<string>): Entry<Req, Res> {
    const s = this.derived.get();
    if (s.current !== undefined) return this.direct(s, avoid);
    const len = s.schedule === undefined ? s.entries.length : s.schedule.length;
    let t = this.turn;
    if (t >= len) t %= len;
    this.turn = t + 1 === len ? 0 : t + 1;
    const e = s.entries[s.schedule === undefined ? t : s.schedule[t]!]!;
    return usable(e, avoid) ? e : probe(s.entries, s.schedule, t, avoid);
  }

  /** nginx's ngx_http_upstream_get_peer over the entries that can be used now. */
  private direct(s: State<Req, Res>, avoid: ReadonlySet<string> | undefined): Entry<Req, Res> {
    const { entries, weights } = s;
    const cw = s.current!;
    if (!s.checks && avoid === undefined) {
      // Every entry is usable: the plain loop over typed arrays, the maximum kept in a local.
      let top = 0;
      let max = Number.NEGATIVE_INFINITY;
      for (let i = 0; i < cw.length; i++) {
        const v = cw[i]! + weights[i]!;
        cw[i] = v;
        if (v > max) {
          max = v;
          top = i;
        }
      }
      cw[top] = max - s.total;
      return entries[top]!;
    }
    let best = -1;
    let total = 0;
    for (let i = 0; i < entries.length; i++) {
      if (!usable(entries[i]!, avoid)) continue;
      cw[i] = cw[i]! + weights[i]!;
      total += weights[i]!;
      if (best < 0 || cw[i]! > cw[best]!) best = i;
    }
    if (best < 0) return probe(entries, undefined, 0, avoid);
    cw[best] = cw[best]! - total;
    return entries[best]!;
  }
}

/** Σw/gcd(w) when every weight is an integer, else undefined. */
function integerPeriod(weights: Float64Array): number | undefined {
  let g = 0;
  let total = 0;
  for (const w of weights) {
    if (!Number.isSafeInteger(w)) return undefined;
    g = gcd(g, w);
    total += w;
  }
  return g === 0 ? undefined : total / g;
}

function gcd(a: number, b: number): number {
  while (b !== 0) [a, b] = [b, a % b];
  return a;
}

/**
 * One period of nginx's smooth weighted round robin: each turn, add every weight to its
 * current weight, take the largest (the earliest on ties), subtract the total from it.
 * Scaling the weights by a common factor leaves the sequence unchanged, so weights are
 * divided by their gcd first; after Σw turns every current weight is back at zero.
 */
function schedule(weights: Float64Array, period: number): Uint32Array {
  const n = weights.length;
  let g = 0;
  for (const w of weights) g = gcd(g, w);
  const w = weights.map((x) => x / g);
  const cw = new Float64Array(n);
  const out = new Uint32Array(period);
  for (let t = 0; t < period; t++) {
    let best = 0;
    let max = Number.NEGATIVE_INFINITY;
    for (let i = 0; i < n; i++) {
      const v = cw[i]! + w[i]!;
      cw[i] = v;
      if (v > max) {
        max = v;
        best = i;
      }
    }
    cw[best] = max - period;
    out[t] = best;
  }
  return out;
}

/**
 * nginx's smooth weighted round robin, exactly: weights {5, 1, 1} give a a b a c a a,
 * ties going to the earliest entry in the set's order. With integer weights one period
 * is precomputed when the set changes (while Σw/gcd x n stays within 2^22), so a pick is
 * O(1); otherwise (fractional weights, a long period) each pick runs nginx's O(n) loop.
 * When the membership or a weight changes, the sequence restarts from zero current
 * weights.
 */
export function weightedRoundRobin<Req, Res>(endpointer: EndpointSource<Req, Res>): Balancer<Req, Res> {
  checkSource(endpointer, 'weightedRoundRobin');
  return new WeightedRoundRobin(endpointer);
}
