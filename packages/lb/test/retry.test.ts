import {
  background,
  CanceledError,
  DeadlineExceededError,
  DecodeError,
  type Endpoint,
  KittsError,
  NoEndpointsError,
  RetryError,
  withCancel,
} from '@kitts/endpoint';
import { assertNoLeaks, baseline, waitFor } from '@kitts/testkit';
import { expect } from 'chai';
import { backoffDelay, checkBackoff } from '../src/backoff.js';
import { type Balancer, defaultRetryIf, maglev, retry, retryBudget, roundRobin } from '../src/index.js';
import { controlled, deferred, entry, Source } from './fixtures.js';

const ctx = background();
const fails =
  (message: string, extra: object = {}): Endpoint<unknown, string> =>
  async () => {
    throw Object.assign(new Error(message), extra);
  };

async function rejection(p: Promise<unknown>): Promise<unknown> {
  try {
    await p;
  } catch (err) {
    return err;
  }
  throw new Error('expected a rejection');
}

/** A balancer that counts its picks and throws NoEndpointsError. */
function empty() {
  const b = {
    picks: 0,
    pick: () => {
      b.picks++;
      throw new NoEndpointsError();
    },
  };
  return b as Balancer<unknown, string> & { picks: number };
}

describe('retry (go-kit TestRetry*)', () => {
  const threeOf = () => [
    entry('a', { endpoint: fails('error one') }),
    entry('b', { endpoint: fails('error two') }),
    entry('c'),
  ];

  it('fails with no endpoints, without spinning (TestRetryMaxTotalFail)', async () => {
    const b = empty();
    const err = await rejection(retry(b, { max: 999, timeout: 60, backoff: false })(ctx, {}));
    expect(err).to.be.instanceOf(DeadlineExceededError);
    // Every wait is at least 10 ms: at most 60 / 10 + 1 looks, not 999.
    expect(b.picks).to.be.within(1, 7);
  });

  it('fails when the attempts run out: "error two (previously: error one)" (TestRetryMaxPartialFail)', async () => {
    const lb = roundRobin(new Source(threeOf()), { start: 0 });
    const err = await rejection(retry(lb, { max: 2, timeout: 1000, backoff: false })(ctx, {}));
    expect(err).to.be.instanceOf(RetryError);
    const r = err as RetryError;
    expect(r.message).to.equal('error two (previously: error one)');
    expect((r.final as Error).message).to.equal('error two');
    expect(r.errors.map((e) => (e as Error).message)).to.deep.equal(['error one', 'error two']);
  });

  it('succeeds with exactly enough attempts (TestRetryMaxSuccess)', async () => {
    const lb = roundRobin(new Source(threeOf()), { start: 0 });
    expect(await retry(lb, { max: 3, timeout: 1000, backoff: false })(ctx, {})).to.equal('c');
  });

  it('ends with DeadlineExceededError at the overall timeout, even if the endpoint ignores it (TestRetryTimeout)', async () => {
    let step = deferred<void>();
    const e = entry('a', {
      endpoint: async () => {
        await step.promise;
        return 'ok';
      },
    });
    // go-kit uses one 1 ms timeout for both calls; on a loaded machine the first call can
    // miss 1 ms before it starts, so the call that must succeed gets a roomy timeout.
    const roomy = retry(roundRobin(new Source([e])), { max: 999, timeout: 5_000 });
    step.resolve();
    expect(await roomy(ctx, {})).to.equal('ok');
    const endpoint = retry(roundRobin(new Source([e])), { max: 999, timeout: 1 });
    step = deferred<void>();
    const err = await rejection(endpoint(ctx, {}));
    expect(err).to.be.instanceOf(DeadlineExceededError);
    step.resolve(); // the late flush
  });
});

describe('retry beyond go-kit', () => {
  it('re-balances each attempt away from instances that already failed this call', async () => {
    const es = ['a', 'b', 'c'].map((id) => entry(id, { endpoint: fails(`${id} down`) }));
    const lb = maglev(new Source(es), { key: () => 'same key every time' });
    const err = (await rejection(
      retry(lb, { max: 3, timeout: 1000, backoff: false })(ctx, {}),
    )) as RetryError;
    const seen = err.errors.map((e) => (e as Error).message);
    expect(new Set(seen).size).to.equal(3);
  });

  it('returns a Failer response as the answer, without retrying', async () => {
    let calls = 0;
    const failer = { failed: () => new Error('insufficient funds') };
    const e = entry('a', {
      endpoint: async () => {
        calls++;
        return failer as unknown as string;
      },
    });
    expect(await retry(roundRobin(new Source([e])), { max: 3, timeout: 1000 })(ctx, {})).to.equal(failer);
    expect(calls).to.equal(1);
  });

  for (const [what, error, attempts] of [
    ['a 404', Object.assign(new Error('not found'), { statusCode: 404 }), 1],
    ['a DecodeError', new DecodeError('bad field'), 1],
    ['an error marked retryable: false', Object.assign(new Error('x'), { retryable: false }), 1],
    ['a 408', Object.assign(new Error('timeout'), { statusCode: 408 }), 3],
    ['a 429', Object.assign(new Error('slow down'), { statusCode: 429 }), 3],
    ['a 503', Object.assign(new Error('unavailable'), { statusCode: 503 }), 3],
    ['a 400 marked retryable: true', Object.assign(new Error('x'), { statusCode: 400, retryable: true }), 3],
    ['an error without status', new Error('boom'), 3],
  ] as [string, Error, number][]) {
    it(`makes ${attempts} attempt(s) of 3 on ${what}`, async () => {
      let calls = 0;
      const e = entry('a', {
        endpoint: async () => {
          calls++;
          throw error;
        },
      });
      const err = await rejection(
        retry(roundRobin(new Source([e])), { max: 3, timeout: 1000, backoff: false })(ctx, {}),
      );
      expect(calls).to.equal(attempts);
      // Not retried: the error itself; retried to exhaustion: RetryError.
      if (attempts === 1) expect(err).to.equal(error);
      else expect(err).to.be.instanceOf(RetryError).with.property('final', error);
    });
  }

  it('does not retry once the caller has cancelled', async () => {
    const c = controlled('a');
    const [cctx, cancel] = withCancel(ctx);
    const p = retry(roundRobin(new Source([c.entry])), { max: 5, timeout: 1000, backoff: false })(cctx, {});
    await waitFor(() => c.calls.length === 1);
    cancel();
    expect(await rejection(p)).to.be.instanceOf(CanceledError);
    expect(c.calls[0]!.ctx.err()).to.be.instanceOf(CanceledError);
    c.calls[0]!.answer.reject(new Error('late'));
    expect(c.calls).to.have.length(1);
  });

  it('ends a backoff sleep at once when the caller cancels, leaving no timer behind', async () => {
    const base = await baseline();
    const [cctx, cancel] = withCancel(ctx);
    let calls = 0;
    const e = entry('a', {
      endpoint: async () => {
        calls++;
        throw new Error('down');
      },
    });
    const p = retry(roundRobin(new Source([e])), {
      max: 3,
      timeout: 60_000,
      backoff: { base: 30_000, cap: 30_000, jitter: 'none' },
    })(cctx, {});
    await waitFor(() => calls === 1); // the first attempt failed: a 30 s sleep begins
    setImmediate(cancel);
    expect(await rejection(p)).to.be.instanceOf(CanceledError);
    await assertNoLeaks(base);
  });

  it('gives each attempt its own perAttemptTimeout and moves on to another instance', async () => {
    const slow = controlled('a');
    const lb = roundRobin(new Source([slow.entry, entry('b')]), { start: 0 });
    const have = await retry(lb, { max: 2, timeout: 5000, perAttemptTimeout: 5, backoff: false })(ctx, {});
    expect(have).to.equal('b');
    expect(slow.calls[0]!.ctx.err()).to.be.instanceOf(DeadlineExceededError);
    slow.calls[0]!.answer.resolve('too late');
  });

  it('stops retrying when the shared budget is spent', async () => {
    const budget = retryBudget({ ttl: 1000, minRetriesPerSecond: 1, percentCanRetry: 0, now: () => 0 });
    let calls = 0;
    const e = entry('a', {
      endpoint: async () => {
        calls++;
        throw new Error('down');
      },
    });
    const endpoint = retry(roundRobin(new Source([e])), { max: 3, timeout: 1000, backoff: false, budget });
    const first = (await rejection(endpoint(ctx, {}))) as RetryError;
    expect(calls).to.equal(2); // the budget held one retry
    expect(first.errors).to.have.length(2);
    await rejection(endpoint(ctx, {}));
    expect(calls).to.equal(3); // no retry left
  });

  it('names the bad option', () => {
    const lb = roundRobin(new Source());
    expect(() => retry(lb, { max: 0, timeout: 1 })).to.throw(TypeError, /max/);
    expect(() => retry(lb, { max: 1 } as never)).to.throw(TypeError, /timeout/);
    expect(() => retry(lb, { max: 1, timeout: 1, backoff: { base: 10, cap: 5 } })).to.throw(TypeError, /cap/);
    expect(() => retry(lb, { max: 1, timeout: 1, backoff: { jitter: 'wild' as 'full' } })).to.throw(
      TypeError,
      /jitter/,
    );
  });
});

describe('defaultRetryIf', () => {
  it('retries kitts errors that mean "try elsewhere" and not those that mean "no"', () => {
    expect(defaultRetryIf(new NoEndpointsError())).to.equal(true);
    expect(defaultRetryIf(new DeadlineExceededError())).to.equal(true);
    expect(defaultRetryIf(new KittsError('X', 'x', { statusCode: 403 }))).to.equal(false);
    expect(defaultRetryIf({ failed: () => new Error('business') })).to.equal(false);
  });
});

describe('backoff (AWS formulas)', () => {
  const lo = () => 0;
  const hi = () => 0.999999;
  it('grows exponentially up to the cap', () => {
    const b = checkBackoff({ base: 10, cap: 100, jitter: 'none' });
    expect([0, 1, 2, 3, 4, 5].map((n) => backoffDelay(b, n, 10, lo))).to.deep.equal([
      10, 20, 40, 80, 100, 100,
    ]);
  });

  it('draws full jitter from [0, t), equal jitter from [t/2, t), decorrelated from [base, 3 x previous]', () => {
    const full = checkBackoff({ base: 10, cap: 1000, jitter: 'full' });
    expect(backoffDelay(full, 3, 0, lo)).to.equal(0);
    expect(backoffDelay(full, 3, 0, hi)).to.be.closeTo(80, 1e-3);
    const equal = checkBackoff({ base: 10, cap: 1000, jitter: 'equal' });
    expect(backoffDelay(equal, 3, 0, lo)).to.equal(40);
    expect(backoffDelay(equal, 3, 0, hi)).to.be.closeTo(80, 1e-3);
    const dec = checkBackoff({ base: 10, cap: 100, jitter: 'decorrelated' });
    expect(backoffDelay(dec, 0, 10, lo)).to.equal(10);
    expect(backoffDelay(dec, 0, 20, hi)).to.be.closeTo(60, 1e-3);
    expect(backoffDelay(dec, 0, 50, hi)).to.equal(100);
  });
});
