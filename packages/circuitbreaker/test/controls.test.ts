import { background, CircuitOpenError, chain, type Endpoint, type Logger } from '@kitts/endpoint';
import { expect } from 'chai';
import { type BreakerState, circuitBreaker, consecutiveFailures } from '../src/index.js';
import { fakeClock, gated, mock, outcome } from './helpers.js';

describe('circuitBreaker: listeners and snapshot', () => {
  it('reports every state change, in order, until disposed', async () => {
    const clock = fakeClock();
    const breaker = circuitBreaker({ trip: consecutiveFailures(2), sleepWindow: 100, now: clock.now });
    const have: string[] = [];
    const dispose = breaker.onStateChange(({ from, to }) => have.push(`${from.value}->${to.value}`));
    const m = mock();
    const e = breaker(m.endpoint);
    m.err = new Error('x');
    await outcome(e(background(), {}));
    await outcome(e(background(), {}));
    clock.advance(100);
    await outcome(e(background(), {})); // probe fails
    clock.advance(100);
    m.err = undefined;
    await e(background(), {}); // probe succeeds
    expect(have).to.deep.equal([
      'closed->open',
      'open->half-open',
      'half-open->open',
      'open->half-open',
      'half-open->closed',
    ]);
    dispose();
    dispose();
    m.err = new Error('x');
    await outcome(e(background(), {}));
    await outcome(e(background(), {}));
    expect(breaker.state.value).to.equal('open');
    expect(have).to.have.length(5);
  });

  it('onSuccess and onFailure get the duration by the breaker clock; onReject the error', async () => {
    const clock = fakeClock();
    const breaker = circuitBreaker({ trip: consecutiveFailures(1), now: clock.now });
    const durations: number[] = [];
    const failures: unknown[] = [];
    const rejects: CircuitOpenError[] = [];
    breaker.onSuccess(({ duration }) => durations.push(duration));
    breaker.onFailure(({ error, duration }) => failures.push([error, duration]));
    breaker.onReject((err) => rejects.push(err));
    let fail = false;
    const boom = new Error('boom');
    const e = breaker(async () => {
      clock.advance(7);
      if (fail) throw boom;
      return 1;
    });
    await e(background(), {});
    fail = true;
    await outcome(e(background(), {}));
    const refused = await outcome(e(background(), {}));
    expect(durations).to.deep.equal([7]);
    expect(failures).to.deep.equal([[boom, 7]]);
    expect(rejects).to.deep.equal([refused]);
  });

  it('a throwing listener is logged and the breaker carries on', async () => {
    const logged: unknown[][] = [];
    const logger: Logger = { debug() {}, info() {}, warn() {}, error: (...a) => logged.push(a) };
    const breaker = circuitBreaker({ logger, now: fakeClock().now });
    breaker.onSuccess(() => {
      throw new Error('listener bug');
    });
    expect(await breaker(mock({ ok: true }).endpoint)(background(), {})).to.deep.equal({ ok: true });
    expect(String(logged[0]![0])).to.contain('onSuccess listener threw');
  });

  it('snapshot() gives state, window counts, error percentage and retryAfter', async () => {
    const clock = fakeClock();
    const breaker = circuitBreaker({ volumeThreshold: 4, sleepWindow: 2_000, now: clock.now, name: 'users' });
    const m = mock();
    const e = breaker(m.endpoint);
    await e(background(), {});
    await e(background(), {});
    m.err = new Error('x');
    await outcome(e(background(), {}));
    expect(breaker.snapshot()).to.deep.include({ state: 'closed', successes: 2, failures: 1, total: 3 });
    await outcome(e(background(), {}));
    await outcome(e(background(), {}));
    clock.advance(500);
    expect(breaker.snapshot()).to.deep.equal({
      name: 'users',
      state: 'open',
      successes: 2,
      failures: 2,
      rejected: 1,
      total: 4,
      errorPercentage: 50,
      consecutiveFailures: 0,
      inFlight: 0,
      retryAfter: 1_500,
    });
  });

  it('state is a discriminated union: open carries openedAt and until', async () => {
    const clock = fakeClock();
    const breaker = circuitBreaker({ trip: consecutiveFailures(1), sleepWindow: 300, now: clock.now });
    const m = mock();
    m.err = new Error('x');
    await outcome(breaker(m.endpoint)(background(), {}));
    const state: BreakerState = breaker.state;
    if (state.value !== 'open') expect.fail('want open');
    expect(state.until - state.openedAt).to.equal(300);
  });
});

describe('circuitBreaker: maxConcurrent (bulkhead)', () => {
  it('refuses calls beyond maxConcurrent at once, with reason max-concurrency', async () => {
    const breaker = circuitBreaker({ maxConcurrent: 2, now: fakeClock().now });
    const g = gated();
    const e = breaker(g.endpoint);
    const a = e(background(), {});
    const b = e(background(), {});
    expect(breaker.available()).to.equal(false);
    const refused = (await outcome(e(background(), {}))) as CircuitOpenError;
    expect(refused).to.be.instanceOf(CircuitOpenError);
    expect(refused.reason).to.equal('max-concurrency');
    expect(g.pending).to.have.length(2);
    g.pending[0]!.resolve('a');
    await a;
    expect(breaker.available()).to.equal(true);
    const c = e(background(), {});
    g.pending[1]!.resolve('b');
    g.pending[2]!.resolve('c');
    expect([await b, await c]).to.deep.equal(['b', 'c']);
    expect(breaker.snapshot()).to.deep.include({ rejected: 1, inFlight: 0, state: 'closed' });
  });

  it('a bulkhead refusal does not count against the service', async () => {
    const breaker = circuitBreaker({ maxConcurrent: 1, trip: consecutiveFailures(1), now: fakeClock().now });
    const g = gated();
    const e = breaker(g.endpoint);
    const a = e(background(), {});
    for (let i = 0; i < 5; i++) await outcome(e(background(), {}));
    g.pending[0]!.resolve('a');
    await a;
    expect(breaker.state.value).to.equal('closed');
  });
});

describe('circuitBreaker: composition and input checks', () => {
  it('is a Middleware: chain() composes it and one breaker guards everything it wraps', async () => {
    const breaker = circuitBreaker<number, number>({ trip: consecutiveFailures(1), now: fakeClock().now });
    let calls = 0;
    const leaf: Endpoint<number, number> = async (_ctx, n) => {
      calls++;
      if (n < 0) throw new Error('negative');
      return n * 2;
    };
    const one = chain(breaker)(leaf);
    const two = breaker(leaf);
    expect(await one(background(), 2)).to.equal(4);
    await outcome(two(background(), -1));
    expect(await outcome(one(background(), 3))).to.be.instanceOf(CircuitOpenError);
    expect(calls).to.equal(2);
  });

  it('an endpoint that throws synchronously or returns a plain value still gets a promise', async () => {
    const breaker = circuitBreaker({ trip: consecutiveFailures(2), now: fakeClock().now });
    const boom = new Error('sync boom');
    const throwing = breaker((() => {
      throw boom;
    }) as unknown as Endpoint);
    const plain = breaker((() => 42) as unknown as Endpoint);
    const p = throwing(background(), {});
    expect(p).to.be.instanceOf(Promise);
    expect(await outcome(p)).to.equal(boom);
    expect(await plain(background(), {})).to.equal(42);
    expect(breaker.snapshot()).to.deep.include({ successes: 1, failures: 1 });
  });

  it('rejects bad options with an error that names the option', () => {
    const bad: [object, RegExp][] = [
      [{ window: 0 }, /window must be a positive number/],
      [{ buckets: 2.5 }, /buckets must be a positive integer/],
      [{ volumeThreshold: -1 }, /volumeThreshold must be a non-negative integer/],
      [{ errorThresholdPercentage: 0 }, /errorThresholdPercentage must be in \(0, 100\]/],
      [{ errorThresholdPercentage: 101 }, /errorThresholdPercentage/],
      [{ sleepWindow: Number.NaN }, /sleepWindow must be a non-negative number/],
      [{ halfOpenProbes: 0 }, /halfOpenProbes must be a positive integer/],
      [{ maxConcurrent: 0 }, /maxConcurrent must be a positive integer/],
      [{ timeout: -5 }, /timeout must be a positive number/],
      [{ isFailure: 'yes' }, /isFailure must be a function/],
      [{ trip: { kind: 'sometimes' } }, /trip must come from consecutiveFailures/],
    ];
    for (const [options, want] of bad)
      expect(() => circuitBreaker(options), JSON.stringify(options)).to.throw(want);
    expect(() => consecutiveFailures(0)).to.throw(RangeError, /n must be a positive integer/);
    expect(() => circuitBreaker()(undefined as never)).to.throw(TypeError, /expected an endpoint function/);
    expect(() => circuitBreaker().onReject(42 as never)).to.throw(TypeError, /listener must be a function/);
  });
});
