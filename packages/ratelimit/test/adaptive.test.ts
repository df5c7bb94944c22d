import {
  background,
  DeadlineExceededError,
  DecodeError,
  type Endpoint,
  KittsError,
  RateLimitedError,
  withCancel,
} from '@kitts/endpoint';
import { expect } from 'chai';
import { adaptiveLimit, aimd, gradient, type LimitAlgorithm, type Sample } from '../src/index.js';

async function outcome<T>(p: Promise<T>): Promise<T | unknown> {
  try {
    return await p;
  } catch (err) {
    return err;
  }
}

const ok = (start: number, end: number, inFlight: number): Sample => ({
  start,
  end,
  inFlight,
  dropped: false,
});
const drop = (start: number, end: number, inFlight: number): Sample => ({
  start,
  end,
  inFlight,
  dropped: true,
});

describe('aimd()', () => {
  it('adds one per round trip: 1/limit for each success that found the limit at least half used', () => {
    const a = aimd({ initial: 10 });
    expect(a.update(10, ok(0, 5, 5))).to.equal(10.1);
    expect(a.update(10, ok(0, 5, 4))).to.equal(10);
    let limit = 10;
    for (let i = 0; i < 10; i++) limit = a.update(limit, ok(0, 5, 10));
    expect(limit).to.be.closeTo(10.95, 0.01);
  });

  it('multiplies by backoffRatio on a drop, once per round trip', () => {
    const a = aimd({ initial: 20, backoffRatio: 0.5 });
    expect(a.update(20, drop(0, 100, 20))).to.equal(10);
    // Started before that decrease: the same congestion event, no second cut.
    expect(a.update(10, drop(50, 101, 20))).to.equal(10);
    expect(a.update(10, drop(100, 200, 10))).to.equal(5);
  });

  it('stays within min and max, and treats a success slower than slowRtt as a drop', () => {
    const a = aimd({ initial: 2, min: 2, max: 3, slowRtt: 50 });
    expect(a.update(2, drop(0, 1, 2))).to.equal(2);
    expect(a.update(3, ok(2, 3, 3))).to.equal(3);
    expect(a.update(2.9, ok(2, 3, 3))).to.equal(3);
    expect(a.update(3, ok(10, 70, 3))).to.equal(2);
  });

  it('rejects bad options by name', () => {
    expect(() => aimd({ backoffRatio: 1 })).to.throw(RangeError, /backoffRatio/);
    expect(() => aimd({ min: 5, max: 2 })).to.throw(RangeError, /min \(5\) must not exceed max \(2\)/);
    expect(() => aimd({ initial: 0 })).to.throw(RangeError, /initial must be a number >= 1/);
  });
});

describe('gradient()', () => {
  function warm(g: LimitAlgorithm, limit: number, rtt: number, n: number): number {
    let t = 0;
    for (let i = 0; i < n; i++, t += rtt) limit = g.update(limit, ok(t, t + rtt, Math.ceil(limit)));
    return limit;
  }

  it('grows while latency holds steady and the limit is in use', () => {
    const g = gradient({ initial: 20, queueSize: 4, smoothing: 0.2 });
    expect(warm(g, 20, 10, 50)).to.be.greaterThan(40);
  });

  it('shrinks when queueing inflates latency beyond the tolerance', () => {
    const g = gradient({ initial: 50, tolerance: 1.5 });
    const steady = warm(g, 50, 10, 20);
    let limit = steady;
    for (let i = 0; i < 20; i++) limit = g.update(limit, ok(0, 40, Math.ceil(limit)));
    expect(limit).to.be.lessThan(steady * 0.5);
  });

  it('does not move when the application leaves the limit mostly unused', () => {
    const g = gradient({ initial: 40 });
    expect(g.update(40, ok(0, 10, 5))).to.equal(40);
  });

  it('rejects bad options by name', () => {
    expect(() => gradient({ smoothing: 0 })).to.throw(RangeError, /smoothing/);
    expect(() => gradient({ tolerance: 0.5 })).to.throw(RangeError, /tolerance/);
    expect(() => gradient({ longWindow: 0 })).to.throw(RangeError, /longWindow/);
  });
});

describe('adaptiveLimit', () => {
  /** An algorithm that records its samples and keeps a fixed limit. */
  function recording(initial: number) {
    const samples: Sample[] = [];
    const algorithm: LimitAlgorithm = {
      name: 'recording',
      initial,
      update(limit, s) {
        samples.push(s);
        return limit;
      },
    };
    return { algorithm, samples };
  }

  it("admits floor(limit) calls and refuses the rest with reason 'concurrency'", async () => {
    const { algorithm } = recording(2.7);
    const limit = adaptiveLimit({ algorithm });
    const gates: (() => void)[] = [];
    const e = limit(() => new Promise<string>((r) => gates.push(() => r('ok'))));
    const a = e(background(), {});
    const b = e(background(), {});
    const refused = (await outcome(e(background(), {}))) as RateLimitedError;
    expect(refused).to.be.instanceOf(RateLimitedError);
    expect(refused.reason).to.equal('concurrency');
    expect(limit.inFlight).to.equal(2);
    for (const g of gates) g();
    expect([await a, await b]).to.deep.equal(['ok', 'ok']);
    expect(limit.inFlight).to.equal(0);
  });

  it('samples each call with its clock times, in-flight count and whether it was dropped', async () => {
    const { algorithm, samples } = recording(10);
    let t = 100;
    const limit = adaptiveLimit({ algorithm, now: () => t });
    let fail: unknown;
    const e = limit(async () => {
      t += 7;
      if (fail) throw fail;
      return 'ok';
    });
    await e(background(), {});
    fail = new DeadlineExceededError();
    await outcome(e(background(), {}));
    fail = new DecodeError('bad input');
    await outcome(e(background(), {}));
    fail = new KittsError('BUSY', 'slow down', { statusCode: 429 });
    await outcome(e(background(), {}));
    expect(samples).to.deep.equal([
      { start: 100, end: 107, inFlight: 1, dropped: false },
      { start: 107, end: 114, inFlight: 1, dropped: true },
      { start: 114, end: 121, inFlight: 1, dropped: false },
      { start: 121, end: 128, inFlight: 1, dropped: true },
    ]);
  });

  it('does not sample a call its caller cancelled', async () => {
    const { algorithm, samples } = recording(10);
    const limit = adaptiveLimit({ algorithm });
    const [ctx, cancel] = withCancel(background());
    cancel();
    const e: Endpoint = limit(async (c) => {
      throw c.err();
    });
    await outcome(e(ctx, {}));
    expect(samples).to.have.length(0);
  });

  it('with aimd, backs off under drops and recovers when they stop', async () => {
    const limit = adaptiveLimit({ algorithm: aimd({ initial: 20, backoffRatio: 0.5 }) });
    let failing = true;
    const e = limit(async () => {
      if (failing) throw new DeadlineExceededError();
      return 'ok';
    });
    for (let i = 0; i < 3; i++) await outcome(e(background(), {}));
    const low = limit.limit;
    expect(low).to.equal(2);
    failing = false;
    // Sequential calls (one in flight) use the limit at least half only while it is at
    // most 2, so it grows once, by 1/2, and then stays: no evidence for more.
    for (let i = 0; i < 4; i++) await e(background(), {});
    expect(limit.limit).to.equal(2.5);
  });

  it('rejects a bad algorithm', () => {
    expect(() => adaptiveLimit({ algorithm: {} as never })).to.throw(TypeError, /algorithm must come from/);
  });
});
