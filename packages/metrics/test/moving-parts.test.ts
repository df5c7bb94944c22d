// The moving parts, fed by the real packages' own events: a breaker's listeners, a retry
// budget's withdrawals, a limiter's refusals.
import { circuitBreaker, consecutiveFailures } from '@kitts/circuitbreaker';
import { background, type Endpoint } from '@kitts/endpoint';
import { retry, retryBudget, roundRobin } from '@kitts/lb';
import { concurrencyLimit, erroring, tokenBucket } from '@kitts/ratelimit';
import { Endpointer, FixedInstancer } from '@kitts/sd';
import { expect } from 'chai';
import { Registry } from 'prom-client';
import { countRejections, instrument, observeBreaker, observeRetryBudget } from '../src/index.js';
import { parse, value } from './scrape.js';

const ctx = background();
const failing: Endpoint<number, string> = async () => {
  throw new Error('down');
};

describe('observeBreaker', () => {
  it('exports the state, the transitions and the refusals of a @kitts/circuitbreaker breaker', async () => {
    let t = 0;
    const breaker = circuitBreaker({
      name: 'comments',
      trip: consecutiveFailures(2),
      sleepWindow: 1000,
      now: () => t,
    });
    const registry = new Registry();
    const stop = observeBreaker(breaker, { name: 'comments', registry });
    const e = breaker(failing);
    const state = async () => {
      const have = parse(await registry.metrics());
      return ['closed', 'open', 'half-open'].map((s) =>
        value(have, 'kitts_circuit_state', { breaker: 'comments', state: s }),
      );
    };
    expect(await state()).to.deep.equal([1, 0, 0]);

    for (let i = 0; i < 5; i++) await e(ctx, i).catch(() => {}); // 2 failures open it, 3 refused
    expect(await state()).to.deep.equal([0, 1, 0]);
    t += 1000;
    const ok = breaker(async () => 'fine');
    await ok(ctx, 0); // the probe succeeds: half-open, then closed
    expect(await state()).to.deep.equal([1, 0, 0]);

    const have = parse(await registry.metrics());
    expect(value(have, 'kitts_circuit_rejections_total', { breaker: 'comments', reason: 'open' })).to.equal(
      3,
    );
    const entered = (to: string) =>
      value(have, 'kitts_circuit_transitions_total', { breaker: 'comments', to });
    expect([entered('open'), entered('half-open'), entered('closed')]).to.deep.equal([1, 1, 1]);

    stop();
    stop();
    expect((await state()).every((v) => v === undefined)).to.equal(true);
    await e(ctx, 0).catch(() => {}); // no listener left to fail
  });

  it('refuses something that is not a breaker', () => {
    expect(() => observeBreaker({} as never, { name: 'b', registry: new Registry() })).to.throw(
      /needs a breaker/,
    );
  });
});

describe('observeRetryBudget', () => {
  it('counts the retries a @kitts/lb budget paid for and the ones it refused, and reads its balance', async () => {
    const registry = new Registry();
    let t = 0;
    // A budget with no reserve and 50% per request: two calls deposit enough for one retry.
    const budget = observeRetryBudget(
      retryBudget({ minRetriesPerSecond: 0, percentCanRetry: 0.5, now: () => t }),
      {
        name: 'comments',
        registry,
      },
    );
    const attempts = [0, 0, 0];
    const counting: Endpoint<number, string> = async (_ctx, call) => {
      attempts[call]!++;
      throw new Error('down');
    };
    const endpointer = new Endpointer(new FixedInstancer(['a:1', 'b:1']), () => counting);
    const e = retry(roundRobin(endpointer), { max: 3, timeout: 10_000, backoff: false, budget });
    for (let i = 0; i < 3; i++) await e(ctx, i).catch(() => {});
    t += 1;
    const have = parse(await registry.metrics());
    // Each attempt after a call's first was a retry the budget paid for; each call that
    // stopped before max attempts was stopped by the budget.
    const want = {
      paid: attempts.reduce((s, n) => s + n - 1, 0),
      refused: attempts.filter((n) => n < 3).length,
    };
    expect(want.refused).to.be.greaterThan(0); // the budget did bite in this scenario
    expect(want.paid).to.be.greaterThan(0); // and did pay for some retries
    expect({
      paid: value(have, 'kitts_retries_total', { budget: 'comments' }),
      refused: value(have, 'kitts_retry_budget_exhausted_total', { budget: 'comments' }),
    }).to.deep.equal(want);
    expect(value(have, 'kitts_retry_budget_balance', { budget: 'comments' })).to.equal(budget.balance());
    await endpointer.close();
  });

  it('refuses something that is not a budget', () => {
    expect(() => observeRetryBudget({} as never, { name: 'b', registry: new Registry() })).to.throw(
      /needs a retry budget/,
    );
  });
});

describe('countRejections', () => {
  it('counts what a @kitts/ratelimit limiter and bulkhead refuse, by reason, and nothing else', async () => {
    const registry = new Registry();
    const limited = countRejections({ name: 'api', registry })(
      erroring(tokenBucket({ rate: 1, burst: 2, now: () => 0 }))(async () => 'ok'),
    );
    for (let i = 0; i < 5; i++) await limited(ctx, i).catch(() => {});

    let release!: () => void;
    const gate = new Promise<void>((r) => (release = r));
    const bulkhead = countRejections({ name: 'api', registry })(
      concurrencyLimit({ max: 1, queue: 0 })(async () => {
        await gate;
        return 'ok';
      }),
    );
    const first = bulkhead(ctx, 0);
    await bulkhead(ctx, 1).catch(() => {});
    release();
    await first;
    await countRejections({ name: 'api', registry })(failing)(ctx, 0).catch(() => {});

    const have = parse(await registry.metrics());
    const lines = [...have].filter(([k]) => k.startsWith('kitts_ratelimit_rejections_total'));
    expect(value(have, 'kitts_ratelimit_rejections_total', { limiter: 'api', reason: 'rate' })).to.equal(3);
    const bulkheadReason = lines.find(([k]) => !k.includes('reason="rate"'));
    expect(bulkheadReason?.[1]).to.equal(1);
  });

  it('agrees with instrument(), which sees the same refusals as outcome="rejected"', async () => {
    const registry = new Registry();
    const e = instrument({ name: 'api', registry })(
      countRejections({ name: 'api', registry })(
        erroring(tokenBucket({ rate: 1, burst: 1, now: () => 0 }))(async () => 1),
      ),
    );
    for (let i = 0; i < 4; i++) await e(ctx, i).catch(() => {});
    const have = parse(await registry.metrics());
    expect(
      value(have, 'kitts_requests_total', { endpoint: 'api', outcome: 'rejected', code: 'RATE_LIMITED' }),
    ).to.equal(value(have, 'kitts_ratelimit_rejections_total', { limiter: 'api', reason: 'rate' }));
  });
});
