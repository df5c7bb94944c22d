import { background, type Endpoint } from '@kitts/endpoint';
import type { Entry } from '@kitts/sd';
import { expect } from 'chai';
import { leastRequest, peakEwma } from '../src/index.js';
import { controlled, entry, flush, Source } from './fixtures.js';

const ctx = background();

/** Start a call through a picked entry and keep its promise handled. */
function start(e: Entry<unknown, string>): Promise<string | undefined> {
  return e.endpoint(ctx, {}).catch(() => undefined);
}

describe('leastRequest (Envoy power of two choices)', () => {
  it('prefers the entry with fewer calls in flight; picks the busy one only when it is the only one sampled', async () => {
    const a = controlled('a');
    const b = entry('b');
    const lb = leastRequest(new Source([a.entry, b]), { seed: 42 });
    // Three calls in flight on a.
    while (a.calls.length < 3) {
      const e = lb.pick(ctx, {});
      if (e.instance.id === 'a') void start(e);
    }
    let toA = 0;
    for (let i = 0; i < 1000; i++) if (lb.pick(ctx, {}).instance.id === 'a') toA++;
    // With two samples drawn with replacement, a wins only when both draws are a: 1/4.
    expect(toA).to.be.within(200, 300);
    for (const c of a.calls) c.answer.resolve('a');
  });

  it('counts a call out when it settles, whether it succeeds, fails or throws', async () => {
    const fails: Endpoint<unknown, string> = async () => {
      throw new Error('no');
    };
    const throws: Endpoint<unknown, string> = () => {
      throw new Error('sync');
    };
    const cases: [Endpoint<unknown, string>, number][] = [
      [async () => 'ok', 1],
      [fails, 1],
      [throws, 0], // over before the call returns
    ];
    for (const [endpoint, during] of cases) {
      const lb = leastRequest(new Source([entry('a', { endpoint })]));
      const e = lb.pick(ctx, {}) as Entry<unknown, string> & { pending: number };
      const p = start(e);
      expect(e.pending).to.equal(during);
      await p;
      expect(e.pending).to.equal(0);
    }
  });

  it('keeps the counters of surviving entries across set changes', async () => {
    const a = controlled('a');
    const source = new Source([a.entry]);
    const lb = leastRequest(source);
    const first = lb.pick(ctx, {}) as Entry<unknown, string> & { pending: number };
    void start(first);
    source.update([a.entry, entry('b')]);
    let again: (Entry<unknown, string> & { pending: number }) | undefined;
    while (again === undefined) {
      const e = lb.pick(ctx, {}, new Set(['b'])) as Entry<unknown, string> & { pending: number };
      if (e.instance.id === 'a') again = e;
    }
    expect(again).to.equal(first);
    expect(again.pending).to.equal(1);
    a.calls[0]!.answer.resolve('a');
    await flush();
    expect(again.pending).to.equal(0);
  });

  it('keeps the counters but shows the new instance when only its weight changed', () => {
    const a = controlled('a');
    const source = new Source([a.entry]);
    const lb = leastRequest(source);
    const first = lb.pick(ctx, {}) as Entry<unknown, string> & { pending: number };
    void start(first);
    const reweighted = { ...a.entry, instance: { ...a.entry.instance, weight: 7 } };
    source.update([reweighted]);
    const again = lb.pick(ctx, {}) as Entry<unknown, string> & { pending: number };
    expect(again).to.equal(first);
    expect(again.pending).to.equal(1);
    expect(again.instance.weight).to.equal(7);
    a.calls[0]!.answer.resolve('a');
  });

  it('compares calls in flight per unit of weight when weights differ', () => {
    const a = controlled('a');
    const heavy = { ...a.entry, instance: { ...a.entry.instance, weight: 4 } };
    const lb = leastRequest(new Source([heavy, entry('b')]), { choices: 8, seed: 1 });
    while (a.calls.length < 2) {
      const e = lb.pick(ctx, {});
      if (e.instance.id === 'a') void start(e);
    }
    // a: (2 + 1) / 4 = 0.75 beats b: (0 + 1) / 1 = 1.
    let toA = 0;
    for (let i = 0; i < 100; i++) if (lb.pick(ctx, {}).instance.id === 'a') toA++;
    expect(toA).to.be.at.least(95);
    for (const c of a.calls) c.answer.resolve('a');
  });

  it('rejects bad choices', () => {
    expect(() => leastRequest(new Source(), { choices: 0 })).to.throw(TypeError, /choices/);
  });
});

describe('peakEwma (Finagle)', () => {
  type Ewma = Entry<unknown, string> & { cost: number; pending: number };

  it('probes a new instance once, then waits for its answer before sending more', async () => {
    let now = 0;
    const a = controlled('a');
    const fresh = controlled('b');
    const source = new Source([a.entry]);
    const lb = peakEwma(source, { now: () => now, seed: 1 });
    const warm = start(lb.pick(ctx, {}));
    now = 10;
    a.calls[0]!.answer.resolve('a');
    await warm;

    source.update([a.entry, fresh.entry]);
    const probe = lb.pick(ctx, {});
    expect(probe.instance.id).to.equal('b'); // no history: cost 0
    const probing = start(probe);
    for (let i = 0; i < 20; i++) expect(lb.pick(ctx, {}).instance.id).to.equal('a');

    now = 15;
    fresh.calls[0]!.answer.resolve('b');
    await probing;
    expect((probe as Ewma).cost).to.equal(5);
    expect(lb.pick(ctx, {}).instance.id).to.equal('b'); // 5 x 1 beats 10 x 1
  });

  it('lets a slower response replace the average at once, and a faster one decay it over `decay`', async () => {
    let now = 0;
    const a = controlled('a');
    const lb = peakEwma(new Source([a.entry]), { now: () => now, decay: 1000 });
    const call = async (rtt: number) => {
      const e = lb.pick(ctx, {}) as Ewma;
      const p = start(e);
      now += rtt;
      a.calls.at(-1)!.answer.resolve('a');
      await p;
      return e.cost;
    };
    expect(await call(10)).to.equal(10);
    expect(await call(100)).to.equal(100); // a peak counts in full
    now += 900;
    const gap = 900 + 20; // from the last sample to the end of the next call
    const want = 100 * Math.exp(-gap / 1000) + 20 * (1 - Math.exp(-gap / 1000));
    expect(await call(20)).to.be.closeTo(want, 1e-9);
  });

  it('sends traffic away from an instance whose latency rose', async () => {
    let now = 0;
    const a = controlled('a');
    const b = controlled('b');
    const lb = peakEwma(new Source([a.entry, b.entry]), { now: () => now, seed: 3 });
    // One answer each: a in 10 ms, b in 45 ms.
    const first = lb.pick(ctx, {});
    const second = lb.pick(ctx, {}, new Set([first.instance.id]));
    const p1 = start(first);
    const p2 = start(second);
    now = 10;
    a.calls[0]!.answer.resolve('a');
    await flush();
    now = 45;
    b.calls[0]!.answer.resolve('b');
    await Promise.all([p1, p2]);
    // a costs about 10 x (pending + 1) (decayed a little since its sample): below b's 45
    // until a has 4 calls in flight.
    const picked = Array.from({ length: 5 }, () => {
      const e = lb.pick(ctx, {});
      void start(e);
      return e.instance.id;
    });
    expect(picked).to.deep.equal(['a', 'a', 'a', 'a', 'b']);
    for (const c of [...a.calls, ...b.calls]) c.answer.resolve('x');
  });

  it('rejects a bad decay', () => {
    expect(() => peakEwma(new Source(), { decay: 0 })).to.throw(TypeError, /decay/);
  });
});
