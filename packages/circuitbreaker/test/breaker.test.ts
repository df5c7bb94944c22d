import { background, CircuitOpenError, DecodeError, type Middleware, withCancel } from '@kitts/endpoint';
import { expect } from 'chai';
import fc from 'fast-check';
import { type CircuitBreakerOptions, circuitBreaker, consecutiveFailures } from '../src/index.js';
import { fakeClock, gated, mock, outcome } from './helpers.js';

/**
 * go-kit's testFailingEndpoint: prime with successes, then fail. The first failures pass
 * through unchanged (the same error object); after that every call fails fast and none
 * reaches the endpoint.
 */
async function testFailingEndpoint(
  breaker: Middleware,
  primeWith: number,
  shouldPass: (failed: number) => boolean,
): Promise<number> {
  const m = mock();
  const e = breaker(m.endpoint);
  const ctx = background();
  for (let i = 0; i < primeWith; i++) await e(ctx, {});

  m.err = new Error('tragedy+disaster');
  m.thru = 0;
  let letThru = 0;
  for (let i = 0; shouldPass(i); i++) {
    const have = await outcome(e(ctx, {}));
    expect(have, `failure #${i + 1} should pass through`).to.equal(m.err);
    letThru++;
  }
  const thru = m.thru;
  for (let i = 0; i < 10; i++) {
    const have = await outcome(e(ctx, {}));
    expect(have, `call #${i + 1} after the trip`).to.be.instanceOf(CircuitOpenError);
  }
  expect(m.thru, 'calls that reached the endpoint after the trip').to.equal(thru);
  return letThru;
}

describe('circuitBreaker: tripping (go-kit harness)', () => {
  it('opens once failures exceed 5% of a window primed with 40 successes (hystrix test)', async () => {
    const clock = fakeClock();
    const breaker = circuitBreaker({ errorThresholdPercentage: 5, now: clock.now });
    // Allowed while failed/(40+failed) < 5%: 0, 1 and 2 failures (2/42 = 4.8%); 3/43 trips.
    const letThru = await testFailingEndpoint(breaker, 40, (failed) => failed * 100 < 5 * (40 + failed));
    expect(letThru).to.equal(3);
  });

  it('with Hystrix defaults, 20 primed successes take 20 failures to reach 50%', async () => {
    const breaker = circuitBreaker({ now: fakeClock().now });
    expect(await testFailingEndpoint(breaker, 20, (failed) => failed < 20)).to.equal(20);
  });

  it('does not trip before the volume threshold, however high the error rate', async () => {
    const breaker = circuitBreaker({
      errorThresholdPercentage: 5,
      volumeThreshold: 20,
      now: fakeClock().now,
    });
    // 10 successes, then failures: above 5% from the first, but the window holds < 20 until 10 more.
    expect(await testFailingEndpoint(breaker, 10, (failed) => 10 + failed < 20)).to.equal(10);
  });

  it('consecutiveFailures(5) trips on the fifth failure in a row (gobreaker test)', async () => {
    const breaker = circuitBreaker({ trip: consecutiveFailures(5), now: fakeClock().now });
    expect(await testFailingEndpoint(breaker, 100, (failed) => failed < 5)).to.equal(5);
  });

  it('consecutiveFailures counts only failures in a row', async () => {
    const clock = fakeClock();
    const breaker = circuitBreaker({ trip: consecutiveFailures(3), now: clock.now });
    const m = mock();
    const e = breaker(m.endpoint);
    const ctx = background();
    for (let i = 0; i < 10; i++) {
      m.err = new Error('boom');
      await outcome(e(ctx, {}));
      await outcome(e(ctx, {}));
      m.err = undefined;
      await e(ctx, {});
    }
    expect(breaker.state.value).to.equal('closed');
    expect(breaker.snapshot().errorPercentage).to.be.closeTo(66.67, 0.01);
  });

  it('the rejection carries retryAfter: the time left of the sleep window', async () => {
    const clock = fakeClock();
    const breaker = circuitBreaker({ trip: consecutiveFailures(1), sleepWindow: 5_000, now: clock.now });
    const m = mock();
    m.err = new Error('down');
    const e = breaker(m.endpoint);
    await outcome(e(background(), {}));
    clock.advance(1_200);
    const have = (await outcome(e(background(), {}))) as CircuitOpenError;
    expect(have).to.be.instanceOf(CircuitOpenError);
    expect(have.reason).to.equal('open');
    expect(have.retryAfter).to.equal(3_800);
    expect(have.headers).to.deep.equal({ 'retry-after': '4' });
  });
});

describe('circuitBreaker: the rolling window', () => {
  it('forgets a stale window: 4 failures, idle past the window, then 2 failures stays closed', async () => {
    const clock = fakeClock();
    const breaker = circuitBreaker({ volumeThreshold: 5, window: 10_000, now: clock.now });
    const m = mock();
    m.err = new Error('flaky');
    const e = breaker(m.endpoint);
    for (let i = 0; i < 4; i++) await outcome(e(background(), {}));
    clock.advance(10_001);
    for (let i = 0; i < 2; i++) await outcome(e(background(), {}));
    expect(breaker.state.value).to.equal('closed');
    expect(breaker.snapshot().failures).to.equal(2);
  });

  it('but the same 6 failures within one window open it', async () => {
    const clock = fakeClock();
    const breaker = circuitBreaker({ volumeThreshold: 5, window: 10_000, now: clock.now });
    const m = mock();
    m.err = new Error('flaky');
    const e = breaker(m.endpoint);
    for (let i = 0; i < 4; i++) await outcome(e(background(), {}));
    clock.advance(5_000);
    for (let i = 0; i < 2; i++) await outcome(e(background(), {}));
    expect(breaker.state.value).to.equal('open');
  });

  it('drops buckets one at a time as they age out', async () => {
    const clock = fakeClock(0);
    const breaker = circuitBreaker({ window: 1_000, buckets: 10, volumeThreshold: 1_000, now: clock.now });
    const m = mock();
    const e = breaker(m.endpoint);
    for (let b = 0; b < 10; b++) {
      for (let i = 0; i <= b; i++) await e(background(), {});
      clock.advance(100);
    }
    // Buckets 0..9 held 1..10 successes; at t=1000 bucket 0 (1 success) has aged out.
    expect(breaker.snapshot().successes).to.equal(54);
    clock.advance(300);
    expect(breaker.snapshot().successes).to.equal(55 - 1 - 2 - 3 - 4);
  });

  it('counts what a naive list of timestamped outcomes counts (property)', async () => {
    const window = 1_000;
    const buckets = 10;
    const width = window / buckets;
    await fc.assert(
      fc.asyncProperty(
        fc.array(fc.tuple(fc.nat({ max: 700 }), fc.boolean()), { minLength: 1, maxLength: 60 }),
        async (steps) => {
          const clock = fakeClock(0);
          const breaker = circuitBreaker({ window, buckets, volumeThreshold: 1e9, now: clock.now });
          const m = mock();
          const e = breaker(m.endpoint);
          const log: { at: number; ok: boolean }[] = [];
          for (const [dt, ok] of steps) {
            clock.advance(dt);
            m.err = ok ? undefined : new Error('x');
            await outcome(e(background(), {}));
            log.push({ at: clock.now(), ok });
          }
          const head = Math.floor(clock.now() / width);
          const live = log.filter((o) => Math.floor(o.at / width) > head - buckets);
          const have = breaker.snapshot();
          expect(have.successes).to.equal(live.filter((o) => o.ok).length);
          expect(have.failures).to.equal(live.filter((o) => !o.ok).length);
        },
      ),
      { numRuns: 200 },
    );
  });

  it('a clock that steps back lands in the current bucket and loses nothing', async () => {
    const clock = fakeClock(50_000);
    const breaker = circuitBreaker({ volumeThreshold: 1_000, now: clock.now });
    const e = breaker(mock().endpoint);
    await e(background(), {});
    clock.set(40_000);
    await e(background(), {});
    expect(breaker.snapshot().successes).to.equal(2);
  });
});

describe('circuitBreaker: half-open', () => {
  async function tripped(options: CircuitBreakerOptions = {}) {
    const clock = fakeClock();
    const breaker = circuitBreaker({
      trip: consecutiveFailures(1),
      sleepWindow: 1_000,
      now: clock.now,
      ...options,
    });
    const g = gated();
    const e = breaker(g.endpoint);
    const first = outcome(e(background(), {}));
    g.pending[0]!.reject(new Error('down'));
    await first;
    expect(breaker.state.value).to.equal('open');
    return { clock, breaker, g, e };
  }

  it('stays open for the sleep window, then lets exactly one probe through', async () => {
    const { clock, breaker, g, e } = await tripped();
    clock.advance(999);
    expect(await outcome(e(background(), {}))).to.be.instanceOf(CircuitOpenError);
    expect(breaker.available()).to.equal(false);
    clock.advance(1);
    expect(breaker.available()).to.equal(true);
    const probe = e(background(), {});
    expect(breaker.state.value).to.equal('half-open');
    const other = (await outcome(e(background(), {}))) as CircuitOpenError;
    expect(other).to.be.instanceOf(CircuitOpenError);
    expect(other.reason).to.equal('half-open');
    expect(g.pending).to.have.length(2);
    g.pending[1]!.resolve('ok');
    expect(await probe).to.equal('ok');
    expect(breaker.state.value).to.equal('closed');
  });

  it('a successful probe closes and clears the window', async () => {
    const { clock, breaker, g, e } = await tripped({ trip: undefined, volumeThreshold: 1 });
    clock.advance(1_000);
    const probe = e(background(), {});
    g.pending[1]!.resolve('ok');
    await probe;
    const have = breaker.snapshot();
    expect(have.state).to.equal('closed');
    expect(have.total).to.equal(0);
  });

  it('a failed probe opens it again for another sleep window', async () => {
    const { clock, breaker, g, e } = await tripped();
    clock.advance(1_000);
    const probe = outcome(e(background(), {}));
    g.pending[1]!.reject(new Error('still down'));
    await probe;
    const state = breaker.state;
    expect(state.value).to.equal('open');
    expect(state.value === 'open' && state.until).to.equal(clock.now() + 1_000);
    expect(await outcome(e(background(), {}))).to.be.instanceOf(CircuitOpenError);
  });

  it('with halfOpenProbes 3, all three must succeed to close; a fourth is refused', async () => {
    const { clock, breaker, g, e } = await tripped({ halfOpenProbes: 3 });
    clock.advance(1_000);
    const probes = [e(background(), {}), e(background(), {}), e(background(), {})];
    expect(await outcome(e(background(), {}))).to.be.instanceOf(CircuitOpenError);
    g.pending[1]!.resolve('a');
    g.pending[2]!.resolve('b');
    await Promise.all(probes.slice(0, 2));
    expect(breaker.state.value).to.equal('half-open');
    g.pending[3]!.resolve('c');
    await probes[2];
    expect(breaker.state.value).to.equal('closed');
  });

  it('a probe answered with a 4xx closes it: the service is answering', async () => {
    const { clock, breaker, g, e } = await tripped();
    clock.advance(1_000);
    const probe = outcome(e(background(), {}));
    const notFound = new DecodeError('no such field');
    g.pending[1]!.reject(notFound);
    expect(await probe).to.equal(notFound);
    expect(breaker.state.value).to.equal('closed');
  });

  it('a probe whose caller went away gives its slot to the next call', async () => {
    const { clock, breaker, g, e } = await tripped();
    clock.advance(1_000);
    const [ctx, cancel] = withCancel(background());
    const probe = outcome(e(ctx, {}));
    cancel();
    g.pending[1]!.reject(ctx.err());
    await probe;
    expect(breaker.state.value).to.equal('half-open');
    const next = e(background(), {});
    g.pending[2]!.resolve('ok');
    expect(await next).to.equal('ok');
    expect(breaker.state.value).to.equal('closed');
  });

  it('an answer from before the trip does not decide the half-open period', async () => {
    const clock = fakeClock();
    const breaker = circuitBreaker({ trip: consecutiveFailures(1), sleepWindow: 1_000, now: clock.now });
    const g = gated();
    const e = breaker(g.endpoint);
    const slow = outcome(e(background(), {}));
    const fast = outcome(e(background(), {}));
    g.pending[1]!.reject(new Error('down'));
    await fast;
    clock.advance(1_000);
    const probe = e(background(), {});
    g.pending[0]!.reject(new Error('late failure from the closed period'));
    await slow;
    expect(breaker.state.value).to.equal('half-open');
    g.pending[2]!.resolve('ok');
    await probe;
    expect(breaker.state.value).to.equal('closed');
  });
});
