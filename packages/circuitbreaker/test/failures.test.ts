import {
  background,
  CanceledError,
  CircuitOpenError,
  DeadlineExceededError,
  DecodeError,
  KittsError,
  RateLimitedError,
  withCancel,
  withTimeout,
} from '@kitts/endpoint';
import { assertNoLeaks, baseline } from '@kitts/testkit';
import { expect } from 'chai';
import {
  type CircuitBreakerOptions,
  circuitBreaker,
  consecutiveFailures,
  defaultIsFailure,
} from '../src/index.js';
import { fakeClock, mock, outcome } from './helpers.js';

/** A breaker that opens on the first counted failure, so "still closed" means "not counted". */
function touchy(extra: CircuitBreakerOptions = {}) {
  const clock = fakeClock();
  return { clock, breaker: circuitBreaker({ trip: consecutiveFailures(1), now: clock.now, ...extra }) };
}

describe('circuitBreaker: what counts as a failure', () => {
  it('business errors of Failer responses do not trip it, and the response comes back', async () => {
    const { breaker } = touchy();
    const response = { failed: () => new Error('insufficient funds') };
    const e = breaker(mock(response).endpoint);
    for (let i = 0; i < 10; i++) expect(await e(background(), {})).to.equal(response);
    expect(breaker.state.value).to.equal('closed');
    expect(breaker.snapshot().successes).to.equal(10);
  });

  it('a user predicate may count business errors', async () => {
    const { breaker } = touchy({
      isFailure: (err, ctx, kind) => kind === 'business' || defaultIsFailure(err, ctx, kind),
    });
    const e = breaker(mock({ failed: () => new Error('insufficient funds') }).endpoint);
    await e(background(), {});
    expect(breaker.state.value).to.equal('open');
  });

  it('a user predicate judges business errors on every path (plain, timed, probe)', async () => {
    const clock = fakeClock();
    const breaker = circuitBreaker({
      trip: consecutiveFailures(2),
      sleepWindow: 100,
      now: clock.now,
      isFailure: (err, ctx, kind) => kind === 'business' || defaultIsFailure(err, ctx, kind),
    });
    let answer: unknown = { failed: () => undefined };
    const e = breaker(async () => answer);
    await e(background(), {});
    expect(breaker.snapshot()).to.deep.include({ successes: 1, failures: 0 });
    // With a duration listener the call takes the guarded path.
    const durations: number[] = [];
    breaker.onFailure(({ duration }) => durations.push(duration));
    answer = { failed: () => new Error('declined') };
    await e(background(), {});
    await e(background(), {});
    expect(breaker.state.value).to.equal('open');
    expect(durations).to.have.length(2);
    clock.advance(100);
    await e(background(), {}); // the probe answers with a counted business error
    expect(breaker.state.value).to.equal('open');
  });

  it('DecodeError and other 4xx errors pass through unchanged and do not trip it', async () => {
    const { breaker } = touchy();
    const m = mock();
    const e = breaker(m.endpoint);
    const notFound = new KittsError('NOT_FOUND', 'no such user', { statusCode: 404 });
    for (const err of [new DecodeError('bad field'), notFound, new RateLimitedError()]) {
      m.err = err;
      expect(await outcome(e(background(), {}))).to.equal(err);
    }
    expect(breaker.state.value).to.equal('closed');
    expect(m.thru).to.equal(3);
  });

  it('a cancellation by the caller does not trip it, whatever the endpoint threw', async () => {
    const { breaker } = touchy();
    const m = mock();
    const e = breaker(m.endpoint);
    const [ctx, cancel] = withCancel(background());
    cancel();
    m.err = new DOMException('This operation was aborted', 'AbortError');
    await outcome(e(ctx, {}));
    m.err = new CanceledError();
    await outcome(e(background(), {}));
    expect(breaker.state.value).to.equal('closed');
  });

  it('5xx, connection errors, unknown errors and timeouts trip it', async () => {
    const cases: unknown[] = [
      new KittsError('UNAVAILABLE', 'upstream down', { statusCode: 503 }),
      Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:1'), { code: 'ECONNREFUSED' }),
      new Error('something odd'),
      'a thrown string',
      new DeadlineExceededError(),
    ];
    for (const err of cases) {
      const { breaker } = touchy();
      const m = mock();
      m.err = err;
      expect(await outcome(breaker(m.endpoint)(background(), {}))).to.equal(err);
      expect(breaker.state.value, String(err)).to.equal('open');
    }
  });

  it("the caller's own deadline passing counts (a slow service)", async () => {
    const clock = fakeClock();
    const { breaker } = touchy({ now: clock.now });
    const [ctx] = withTimeout(clock.ctx(), 100);
    const e = breaker(async (c) => {
      clock.advance(150);
      throw c.err();
    });
    expect(await outcome(e(ctx, {}))).to.be.instanceOf(DeadlineExceededError);
    expect(breaker.state.value).to.equal('open');
  });
});

describe('circuitBreaker: timeout', () => {
  it("gives the call's context a deadline and cancels it when the call ends", async () => {
    const clock = fakeClock();
    const { breaker } = touchy({ timeout: 250, now: clock.now });
    const parent = clock.ctx();
    let seen: ReturnType<typeof clock.ctx> | undefined;
    const e = breaker(async (ctx) => {
      seen = ctx;
      return ctx.deadline;
    });
    expect(await e(parent, {})).to.equal(clock.now() + 250);
    expect(seen!.err()).to.be.instanceOf(CanceledError);
    expect(parent.err()).to.equal(undefined);
  });

  it('a call that ends with the deadline counts as a failure', async () => {
    const clock = fakeClock();
    const { breaker } = touchy({ timeout: 250, now: clock.now });
    const e = breaker(async (ctx) => {
      clock.advance(300);
      throw ctx.err();
    });
    expect(await outcome(e(clock.ctx(), {}))).to.be.instanceOf(DeadlineExceededError);
    expect(breaker.state.value).to.equal('open');
  });

  it('a late success (the endpoint ignored its deadline) is returned but counts as a failure', async () => {
    const clock = fakeClock();
    const { breaker } = touchy({ timeout: 250, now: clock.now });
    const e = breaker(async () => {
      clock.advance(300);
      return 'late';
    });
    expect(await e(clock.ctx(), {})).to.equal('late');
    expect(breaker.state.value).to.equal('open');
  });

  it('leaves no timer behind when the endpoint listened to the signal', async () => {
    const base = await baseline();
    const breaker = circuitBreaker({ timeout: 60_000 });
    const e = breaker(async (ctx) => {
      ctx.signal.addEventListener('abort', () => {});
      return 1;
    });
    for (let i = 0; i < 5; i++) await e(background(), {});
    await assertNoLeaks(base);
  });
});

describe('circuitBreaker: fallback', () => {
  it('answers rejected calls and counted failures', async () => {
    const seen: unknown[] = [];
    const { breaker } = touchy({
      fallback: (err, _ctx, req: { id: number }) => {
        seen.push(err);
        return `cached ${req.id}`;
      },
    });
    const m = mock();
    const boom = new Error('boom');
    m.err = boom;
    const e = breaker(m.endpoint);
    expect(await e(background(), { id: 1 })).to.equal('cached 1');
    expect(await e(background(), { id: 2 })).to.equal('cached 2');
    expect(seen[0]).to.equal(boom);
    expect(seen[1]).to.be.instanceOf(CircuitOpenError);
    expect(m.thru).to.equal(1);
  });

  it('a fallback that throws on a refused call rejects with what it threw', async () => {
    const fromFallback = new Error('no cached answer either');
    const { breaker } = touchy({
      fallback: (err) => {
        if (err instanceof CircuitOpenError) throw fromFallback;
        return 'cached';
      },
    });
    const m = mock();
    m.err = new Error('down');
    const e = breaker(m.endpoint);
    expect(await e(background(), {})).to.equal('cached');
    expect(await outcome(e(background(), {}))).to.equal(fromFallback);
  });

  it('is not used for errors that do not count: they are the caller’s to see', async () => {
    let used = 0;
    const { breaker } = touchy({ fallback: () => ++used });
    const m = mock();
    m.err = new DecodeError('bad');
    expect(await outcome(breaker(m.endpoint)(background(), {}))).to.equal(m.err);
    expect(used).to.equal(0);
  });
});
