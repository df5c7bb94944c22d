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

export interface PeakEwmaOptions {
  /** Time (ms) over which a latency peak decays towards newer samples; 10 s by default, as Finagle. */
  decay?: number;
  /** Clock in milliseconds; performance.now by default. Tests and simulations inject one. */
  now?: () => number;
  /** Seed for the random sampling; Math.random without one. */
  seed?: number | string;
}

// Finagle's penalty for an instance with calls in flight and no latency yet: larger than
// any real cost, so that a new instance gets one probe, not a flood.
const PENALTY = Number.MAX_SAFE_INTEGER / 2 ** 16;

class Ewma<Req, Res> extends TrackedEntry<Req, Res> {
  /** Peak-sensitive moving average of round-trip times (ms). */
  cost = 0;
  private stamp: number;

  constructor(
    entry: Entry<Req, Res>,
    private readonly now: () => number,
    private readonly tau: number,
  ) {
    super(entry);
    this.stamp = now();
  }

  protected override start(): number {
    this.pending++;
    return this.now();
  }

  protected override end(started: number): void {
    this.pending--;
    const t = this.now();
    this.observe(Math.max(t - started, 0), t);
  }

  /**
   * A slower sample replaces the average at once; a faster one is blended in with a
   * weight that grows with the time since the last sample (the series is unevenly spaced).
   */
  private observe(rtt: number, t: number): void {
    if (rtt > this.cost) this.cost = rtt;
    else if (t > this.stamp) {
      const w = Math.exp((this.stamp - t) / this.tau);
      this.cost = this.cost * w + rtt * (1 - w);
    }
    // (With no time elapsed the weight is exp(0) = 1: a lower sample changes nothing.)
    this.stamp = t;
  }

  /** The cost of one more call at time t (ms). */
  load(t: number): number {
    // Let the average decay for the time that passed without samples.
    this.observe(0, t);
    if (this.cost === 0 && this.pending !== 0) return PENALTY + this.pending;
    return this.cost * (this.pending + 1);
  }
}

interface State<Req, Res> {
  tracked: Ewma<Req, Res>[];
}

class PeakEwma<Req, Res> implements Balancer<Req, Res> {
  private readonly derived: Derived<Req, Res, State<Req, Res>>;
  private byId = new Map<string, Ewma<Req, Res>>();

  constructor(
    source: EndpointSource<Req, Res>,
    private readonly tau: number,
    private readonly now: () => number,
    private readonly rng: Rng,
  ) {
    this.derived = new Derived(source, (entries) => this.build(entries));
  }

  private build(entries: readonly Entry<Req, Res>[]): State<Req, Res> {
    const { tracked, byId } = rewrap(entries, this.byId, (e) => new Ewma(e, this.now, this.tau));
    this.byId = byId;
    return { tracked };
  }

  pick(_ctx: Context, _request: Req, avoid?: ReadonlySet<string>): Entry<Req, Res> {
    const { tracked } = this.derived.get();
    const n = tracked.length;
    const first = Math.floor(this.rng() * n);
    const a = this.candidate(tracked, first, avoid);
    if (n === 1) return a;
    // Two distinct draws, as Finagle's power of two choices.
    let second = Math.floor(this.rng() * (n - 1));
    if (second >= first) second++;
    const b = this.candidate(tracked, second, avoid);
    if (a === b) return a;
    const t = this.now();
    return b.load(t) < a.load(t) ? b : a;
  }

  private candidate(tracked: Ewma<Req, Res>[], i: number, avoid: ReadonlySet<string> | undefined) {
    let e = tracked[i]!;
    for (let r = 0; r < REDRAWS && !usable(e, avoid); r++) {
      i = Math.floor(this.rng() * tracked.length);
      e = tracked[i]!;
    }
    return usable(e, avoid) ? e : (probe(tracked, undefined, i, avoid) as Ewma<Req, Res>);
  }
}

/**
 * Finagle's and Linkerd's peak-EWMA balancer: of two random entries, the one with the
 * lower cost = ewma(latency) x (calls in flight + 1). Latency peaks count at once and
 * fade over `decay` ms; an instance with no history gets one probe, then waits for its
 * answer. Failures count by their latency like successes (a fast failure looks cheap:
 * pair it with a breaker that marks the entry unavailable).
 */
export function peakEwma<Req, Res>(
  endpointer: EndpointSource<Req, Res>,
  options: PeakEwmaOptions = {},
): Balancer<Req, Res> {
  checkSource(endpointer, 'peakEwma');
  const { decay = 10_000, now = () => performance.now(), seed } = options;
  if (!(Number.isFinite(decay) && decay > 0)) {
    throw new TypeError(`kitts/lb: peakEwma decay must be a positive number of milliseconds, got ${decay}`);
  }
  if (typeof now !== 'function') throw new TypeError('kitts/lb: peakEwma now must be a function');
  return new PeakEwma(endpointer, decay, now, makeRng(seed));
}
