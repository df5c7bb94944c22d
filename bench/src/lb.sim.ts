/**
 * A discrete-event simulation (virtual time) that drives the real balancer objects of
 * @kitts/lb: 10 instances, each a single FIFO server with exponential service times,
 * one of them 10x slower, offered 80% of the fleet's capacity as a Poisson stream.
 * Calls go through the entries the balancer returns, so least-request sees its in-flight
 * counts and peak-EWMA its latencies (on the simulation's clock) exactly as in real use.
 * Everything is seeded: a run gives the same figures every time.
 */
import { background, type Endpoint } from '@kitts/endpoint';
import { type Balancer, type EndpointSource, leastRequest, peakEwma, roundRobin } from '@kitts/lb';
import type { EndpointSet, Entry } from '@kitts/sd';

export interface SimResult {
  name: string;
  p50: number;
  p99: number;
  mean: number;
  /** Share of requests sent to the slow instance. */
  slowShare: number;
}

export const SIM = {
  instances: 10,
  fastMs: 10,
  slowMs: 100,
  load: 0.8,
  requests: 40_000,
};

/** Seeded uniform [0, 1): mulberry32, enough for a simulation. */
function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) | 0;
    let t = Math.imul(a ^ (a >>> 15), 1 | a);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const exponential = (u: () => number, mean: number) => -Math.log(1 - u()) * mean;

/** A min-heap of completions by time (ties by insertion order). */
class Events {
  private heap: { at: number; seq: number; done: () => void }[] = [];
  private seq = 0;
  get size() {
    return this.heap.length;
  }
  push(at: number, done: () => void) {
    const h = this.heap;
    h.push({ at, seq: this.seq++, done });
    let i = h.length - 1;
    while (i > 0) {
      const p = (i - 1) >> 1;
      if (before(h[p]!, h[i]!)) break;
      [h[p], h[i]] = [h[i]!, h[p]!];
      i = p;
    }
  }
  peek() {
    return this.heap[0];
  }
  pop() {
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
        [h[m], h[i]] = [h[i]!, h[m]!];
        i = m;
      }
    }
    return top;
  }
}

const before = (a: { at: number; seq: number }, b: { at: number; seq: number }) =>
  a.at < b.at || (a.at === b.at && a.seq < b.seq);

const tick = () => new Promise<void>((r) => setImmediate(r));

export async function simulate(
  name: string,
  make: (source: EndpointSource<number, number>, now: () => number) => Balancer<number, number>,
): Promise<SimResult> {
  const { instances, fastMs, slowMs, load, requests } = SIM;
  const service = rng(7);
  const arrivals = rng(11);
  let now = 0;
  const events = new Events();
  const latencies: number[] = [];
  let toSlow = 0;

  // Each instance: one server, FIFO. A job's finish time is known when it is queued.
  const entries: Entry<number, number>[] = Array.from({ length: instances }, (_, i) => {
    const mean = i === 0 ? slowMs : fastMs;
    let busyUntil = 0;
    const endpoint: Endpoint<number, number> = (_ctx, arrivedAt) =>
      new Promise<number>((resolve) => {
        const start = Math.max(now, busyUntil);
        busyUntil = start + exponential(service, mean);
        const finish = busyUntil;
        events.push(finish, () => resolve(finish - arrivedAt));
      });
    return { instance: { id: `i${i}`, address: `10.0.0.${i + 1}:80` }, endpoint };
  });
  const set: EndpointSet<number, number> = { version: 1, entries };
  const balancer = make({ current: () => set }, () => now);

  const capacity = (instances - 1) / fastMs + 1 / slowMs; // requests per ms
  const rate = load * capacity;
  const ctx = background({ now: () => now });
  let nextArrival = exponential(arrivals, 1 / rate);
  let sent = 0;
  const pending: Promise<void>[] = [];

  while (sent < requests || events.size > 0) {
    const completion = events.peek();
    if (sent < requests && (completion === undefined || nextArrival <= completion.at)) {
      now = nextArrival;
      const e = balancer.pick(ctx, now);
      if (e.instance.id === 'i0') toSlow++;
      pending.push(
        e.endpoint(ctx, now).then((latency) => {
          latencies.push(latency);
        }),
      );
      sent++;
      nextArrival = now + exponential(arrivals, 1 / rate);
    } else {
      const ev = events.pop();
      now = ev.at;
      ev.done();
      // Let the balancer's wrappers hear about the completion before time moves on.
      await tick();
    }
  }
  await Promise.all(pending);
  latencies.sort((a, b) => a - b);
  const q = (p: number) => latencies[Math.min(latencies.length - 1, Math.floor(p * latencies.length))]!;
  return {
    name,
    p50: q(0.5),
    p99: q(0.99),
    mean: latencies.reduce((a, b) => a + b, 0) / latencies.length,
    slowShare: toSlow / requests,
  };
}

export async function simulateAll(): Promise<SimResult[]> {
  return [
    await simulate('roundRobin', (s) => roundRobin(s, { start: 0 })),
    await simulate('leastRequest', (s) => leastRequest(s, { seed: 1 })),
    await simulate('peakEwma', (s, now) => peakEwma(s, { seed: 1, now })),
  ];
}

const fmtTick = (ms: number) => (ms >= 1000 ? `${ms / 1000} s` : `${ms} ms`);

const fmt = (ms: number) => (ms >= 1000 ? `${(ms / 1000).toFixed(1)} s` : `${ms.toFixed(1)} ms`);

export function simTable(results: SimResult[]): string {
  const rows = results.map(
    (r) =>
      `| ${r.name} | ${fmt(r.p50)} | ${fmt(r.p99)} | ${fmt(r.mean)} | ${(100 * r.slowShare).toFixed(1)}% |`,
  );
  return [
    '| balancer | p50 | p99 | mean | slow instance share |',
    '| --- | ---: | ---: | ---: | ---: |',
    ...rows,
  ].join('\n');
}

/** Two bar panels: p50/p99 latency on a log scale, and the slow instance's share. */
export function simSvg(results: SimResult[]): string {
  const W = 760;
  const H = 300;
  const top = 50;
  const bottom = 250;
  const colors = { p50: '#7aa6d8', p99: '#1f4e89', share: '#d9822b' };
  const out: string[] = [];
  const text = (x: number, y: number, s: string, extra = '') =>
    out.push(`<text x="${x.toFixed(1)}" y="${y.toFixed(1)}" ${extra}>${s}</text>`);
  out.push(
    `<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" viewBox="0 0 ${W} ${H}" font-family="sans-serif" font-size="12" role="img">`,
    '<title>p50 and p99 latency and the slow instance share for round robin, least-request and peak-EWMA</title>',
    `<rect width="${W}" height="${H}" fill="#fff"/>`,
  );
  text(
    W / 2,
    20,
    `10 instances, one 10x slower, 80% load, ${SIM.requests.toLocaleString('en')} requests (virtual time)`,
    'text-anchor="middle" font-weight="bold"',
  );

  // Panel 1: latency, log10 scale from 1 ms to the largest p99.
  const maxLat = Math.max(...results.map((r) => r.p99));
  const decades = Math.ceil(Math.log10(maxLat));
  const y = (ms: number) => bottom - ((bottom - top) * Math.log10(Math.max(ms, 1))) / decades;
  const x0 = 60;
  const panel = 300;
  text(x0 + panel / 2, 40, 'latency (log scale)', 'text-anchor="middle"');
  for (let d = 0; d <= decades; d++) {
    const yy = y(10 ** d);
    out.push(`<line x1="${x0}" x2="${x0 + panel}" y1="${yy}" y2="${yy}" stroke="#ddd"/>`);
    text(x0 - 6, yy + 4, fmtTick(10 ** d), 'text-anchor="end" fill="#555"');
  }
  const slot = panel / results.length;
  results.forEach((r, i) => {
    const cx = x0 + slot * i + slot / 2;
    for (const [k, v, dx] of [
      ['p50', r.p50, -36],
      ['p99', r.p99, 6],
    ] as const) {
      const yy = y(v);
      out.push(
        `<rect x="${cx + dx}" y="${yy.toFixed(1)}" width="30" height="${(bottom - yy).toFixed(1)}" fill="${colors[k]}"/>`,
      );
      text(cx + dx + 15, yy - 4, fmt(v), 'text-anchor="middle" font-size="9"');
    }
    text(cx, bottom + 16, r.name, 'text-anchor="middle"');
  });
  out.push(`<line x1="${x0}" x2="${x0 + panel}" y1="${bottom}" y2="${bottom}" stroke="#333"/>`);

  // Panel 2: share of requests to the slow instance, 0-15% (10% is its round-robin share).
  const x1 = 440;
  const maxShare = 0.15;
  const ys = (s: number) => bottom - ((bottom - top) * Math.min(s, maxShare)) / maxShare;
  text(x1 + panel / 2, 40, "slow instance's share of requests", 'text-anchor="middle"');
  for (const s of [0, 0.05, 0.1, 0.15]) {
    const yy = ys(s);
    out.push(`<line x1="${x1}" x2="${x1 + panel}" y1="${yy}" y2="${yy}" stroke="#ddd"/>`);
    text(x1 - 6, yy + 4, `${Math.round(s * 100)}%`, 'text-anchor="end" fill="#555"');
  }
  results.forEach((r, i) => {
    const cx = x1 + slot * i + slot / 2;
    const yy = ys(r.slowShare);
    out.push(
      `<rect x="${cx - 15}" y="${yy.toFixed(1)}" width="30" height="${(bottom - yy).toFixed(1)}" fill="${colors.share}"/>`,
    );
    text(cx, yy - 4, `${(100 * r.slowShare).toFixed(1)}%`, 'text-anchor="middle" font-size="10"');
    text(cx, bottom + 16, r.name, 'text-anchor="middle"');
  });
  out.push(`<line x1="${x1}" x2="${x1 + panel}" y1="${bottom}" y2="${bottom}" stroke="#333"/>`);

  // Legend.
  const ly = H - 18;
  for (const [i, [label, color]] of (
    [
      ['p50', colors.p50],
      ['p99', colors.p99],
      ['share to the slow instance', colors.share],
    ] as const
  ).entries()) {
    const lx = 150 + i * 90;
    out.push(`<rect x="${lx}" y="${ly - 10}" width="12" height="12" fill="${color}"/>`);
    text(lx + 16, ly, label);
  }
  out.push('</svg>');
  return `${out.join('\n')}\n`;
}
