// A discrete-event simulation of a client calling an overloadable server through a
// concurrency limiter, in virtual time: the limiters run their real code against a clock
// the simulation moves, and microtasks are drained between events.
import {
  background,
  type Context,
  DeadlineExceededError,
  type Endpoint,
  type Middleware,
  withTimeout,
} from '@kitts/endpoint';

export interface Phase {
  name: string;
  /** Length in ms of virtual time. */
  duration: number;
  /** Requests per second arriving (Poisson). */
  load: number;
  /** Server workers: its real concurrency capacity. */
  workers: number;
}

export interface SimOptions {
  phases: Phase[];
  /** Mean service time in ms; each request takes uniformly 50%-150% of it. */
  service: number;
  /** The client's deadline per request, ms. */
  deadline: number;
  seed?: number;
}

export interface PhaseResult {
  phase: string;
  goodput: number;
  p50: number;
  p99: number;
  rejected: number;
  timedOut: number;
  /** Mean of the limiter's limit at arrivals (NaN when it has none). */
  limit: number;
}

/** A binary min-heap of events by time, then by insertion order. */
class Events {
  private heap: { at: number; seq: number; fn: () => void }[] = [];
  private seq = 0;
  get size(): number {
    return this.heap.length;
  }
  push(at: number, fn: () => void): void {
    const h = this.heap;
    h.push({ at, seq: this.seq++, fn });
    let i = h.length - 1;
    while (i > 0) {
      const p = (i - 1) >> 1;
      if (!before(h[i]!, h[p]!)) break;
      [h[i], h[p]] = [h[p]!, h[i]!];
      i = p;
    }
  }
  pop(): { at: number; fn: () => void } {
    const h = this.heap;
    const top = h[0]!;
    const last = h.pop()!;
    if (h.length > 0) {
      h[0] = last;
      let i = 0;
      for (;;) {
        const l = 2 * i + 1;
        const r = l + 1;
        let m = i;
        if (l < h.length && before(h[l]!, h[m]!)) m = l;
        if (r < h.length && before(h[r]!, h[m]!)) m = r;
        if (m === i) break;
        [h[i], h[m]] = [h[m]!, h[i]!];
        i = m;
      }
    }
    return top;
  }
}

const before = (a: { at: number; seq: number }, b: { at: number; seq: number }) =>
  a.at < b.at || (a.at === b.at && a.seq < b.seq);

function mulberry32(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const drain = () => new Promise<void>((r) => setImmediate(r));

/**
 * Run one scenario. `makeLimiter(now)` builds the middleware under test around the
 * simulation's clock; `limitOf` reads its current limit for the report.
 */
export async function simulate(
  options: SimOptions,
  makeLimiter: (now: () => number) => Middleware<number, number> | undefined,
  limitOf: () => number = () => Number.NaN,
): Promise<PhaseResult[]> {
  const random = mulberry32(options.seed ?? 7);
  const events = new Events();
  let t = 0;
  const now = () => t;
  const root = background({ now });

  // The server: `workers` requests at a time, the rest wait in its FIFO queue. A request
  // whose client gave up is still served: wasted work, which is how overload collapses.
  let workers = options.phases[0]!.workers;
  let busy = 0;
  const waiting: (() => void)[] = [];
  const startNext = () => {
    while (busy < workers && waiting.length > 0) {
      busy++;
      waiting.shift()!();
    }
  };
  const server: Endpoint<number, number> = (ctx: Context, id: number) =>
    new Promise<number>((resolve, reject) => {
      let settled = false;
      const deadline = ctx.deadline;
      if (deadline !== undefined) {
        events.push(deadline, () => {
          if (!settled) {
            settled = true;
            reject(new DeadlineExceededError());
          }
        });
      }
      waiting.push(() => {
        const took = options.service * (0.5 + random());
        events.push(t + took, () => {
          busy--;
          startNext();
          if (!settled) {
            settled = true;
            resolve(id);
          }
        });
      });
      startNext();
    });

  const limiter = makeLimiter(now);
  const endpoint = limiter === undefined ? server : limiter(server);

  type Stats = {
    ok: number;
    rejected: number;
    timedOut: number;
    latencies: number[];
    limits: number;
    limitSum: number;
  };
  const all: Stats[] = [];
  let phaseStart = 0;
  for (const phase of options.phases) {
    const end = phaseStart + phase.duration;
    // Calls are counted in the phase they arrived in, whenever they end.
    const stats: Stats = { ok: 0, rejected: 0, timedOut: 0, latencies: [], limits: 0, limitSum: 0 };
    all.push(stats);
    workers = phase.workers;
    // Arrivals of this phase, Poisson at `load` per second.
    let at = phaseStart;
    let id = 0;
    for (;;) {
      at += (-Math.log(1 - random()) * 1000) / phase.load;
      if (at >= end) break;
      events.push(at, () => {
        const started = t;
        const l = limitOf();
        if (!Number.isNaN(l)) {
          stats.limits++;
          stats.limitSum += l;
        }
        const [ctx, cancel] = withTimeout(root, options.deadline);
        endpoint(ctx, id++).then(
          () => {
            stats.ok++;
            stats.latencies.push(t - started);
            cancel();
          },
          (err) => {
            if (err instanceof DeadlineExceededError) stats.timedOut++;
            else stats.rejected++;
            cancel();
          },
        );
      });
    }
    await runUntil(end);
    phaseStart = end;
  }
  // Let what is still in flight finish.
  await runUntil(Number.POSITIVE_INFINITY);

  async function runUntil(end: number): Promise<void> {
    while (events.size > 0) {
      const next = events.pop();
      if (next.at >= end) {
        events.push(next.at, next.fn);
        return;
      }
      t = next.at;
      next.fn();
      await drain();
    }
  }

  return options.phases.map((phase, i) => {
    const stats = all[i]!;
    const total = stats.ok + stats.rejected + stats.timedOut;
    const sorted = stats.latencies.sort((a, b) => a - b);
    const q = (p: number) => sorted[Math.min(sorted.length - 1, Math.floor(p * sorted.length))] ?? Number.NaN;
    return {
      phase: phase.name,
      goodput: (stats.ok * 1000) / phase.duration,
      p50: q(0.5),
      p99: q(0.99),
      rejected: total === 0 ? 0 : stats.rejected / total,
      timedOut: total === 0 ? 0 : stats.timedOut / total,
      limit: stats.limits === 0 ? Number.NaN : stats.limitSum / stats.limits,
    };
  });
}
