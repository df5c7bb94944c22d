import {
  background,
  CanceledError,
  CircuitOpenError,
  type Context,
  DeadlineExceededError,
  key,
  withCancel,
  withValue,
} from '@kitts/endpoint';
import { assertNoLeaks, baseline } from '@kitts/testkit';
import { expect } from 'chai';
import {
  BrokenCircuitError,
  bulkhead,
  ConsecutiveBreaker,
  circuitBreaker as cockatielBreaker,
  handleAll,
  retry,
  TimeoutStrategy,
  timeout,
  wrap,
} from 'cockatiel';
import { fromCockatiel } from '../src/cockatiel.js';
import { deferred, outcome } from './helpers.js';

/** An endpoint that never answers on its own: it ends when its context does. */
const waitsForAbort = (ctx: Context) =>
  new Promise<never>((_, reject) => ctx.signal.addEventListener('abort', () => reject(ctx.err())));

describe('fromCockatiel: any cockatiel 3 policy as a Middleware', () => {
  let base: Map<string, number>;
  beforeEach(async () => {
    base = await baseline();
  });
  afterEach(async () => {
    await assertNoLeaks(base);
  });

  it('a broken circuit becomes CircuitOpenError, with the cockatiel error as cause', async () => {
    const policy = cockatielBreaker(handleAll, { halfOpenAfter: 10_000, breaker: new ConsecutiveBreaker(2) });
    let thru = 0;
    const e = fromCockatiel(policy)(async () => {
      thru++;
      throw new Error('down');
    });
    await outcome(e(background(), {}));
    await outcome(e(background(), {}));
    const have = (await outcome(e(background(), {}))) as CircuitOpenError;
    expect(have).to.be.instanceOf(CircuitOpenError);
    expect(have.reason).to.equal('open');
    expect(have.cause).to.be.instanceOf(BrokenCircuitError);
    expect(thru).to.equal(2);
  });

  it('passes the caller context itself when the policy adds no signal of its own', async () => {
    const user = key<string>('user');
    const ctx = withValue(background(), user, 'ada');
    let seen: Context | undefined;
    const policy = cockatielBreaker(handleAll, { halfOpenAfter: 1_000, breaker: new ConsecutiveBreaker(3) });
    const e = fromCockatiel<number, string>(policy)(async (c, n) => {
      seen = c;
      return `${c.value(user)}:${n}`;
    });
    expect(await e(ctx, 1)).to.equal('ada:1');
    expect(seen).to.equal(ctx);
  });

  it("a cooperative timeout ends the endpoint's context and the call with DeadlineExceededError", async () => {
    const user = key<string>('user');
    let seen: Context | undefined;
    const e = fromCockatiel(timeout(20, TimeoutStrategy.Cooperative))((ctx) => {
      seen = ctx;
      return waitsForAbort(ctx);
    });
    expect(await outcome(e(withValue(background(), user, 'ada'), {}))).to.be.instanceOf(
      DeadlineExceededError,
    );
    expect(seen!.value(user)).to.equal('ada');
    expect(seen!.err()).to.be.instanceOf(CanceledError);
  });

  it('an aggressive timeout is a DeadlineExceededError too', async () => {
    const gate = deferred<string>();
    const e = fromCockatiel(timeout(20, TimeoutStrategy.Aggressive))(() => gate.promise);
    expect(await outcome(e(background(), {}))).to.be.instanceOf(DeadlineExceededError);
    gate.resolve('too late');
  });

  it("a full bulkhead is a CircuitOpenError with reason 'max-concurrency'", async () => {
    const gate = deferred<string>();
    const e = fromCockatiel(bulkhead(1, 0))(() => gate.promise);
    const first = e(background(), {});
    const have = (await outcome(e(background(), {}))) as CircuitOpenError;
    expect(have.reason).to.equal('max-concurrency');
    gate.resolve('done');
    expect(await first).to.equal('done');
  });

  it("the caller's cancellation reaches the endpoint and ends the call with CanceledError", async () => {
    const [ctx, cancel] = withCancel(background());
    const policy = wrap(retry(handleAll, { maxAttempts: 3 }), timeout(60_000, TimeoutStrategy.Cooperative));
    let attempts = 0;
    const e = fromCockatiel(policy)((c) => {
      attempts++;
      return waitsForAbort(c);
    });
    const pending = outcome(e(ctx, {}));
    cancel();
    expect(await pending).to.be.instanceOf(CanceledError);
    expect(attempts).to.equal(1);
  });

  it('a wrap of retry and breaker retries through the middleware', async () => {
    const policy = wrap(
      retry(handleAll, { maxAttempts: 2 }),
      cockatielBreaker(handleAll, { halfOpenAfter: 1_000, breaker: new ConsecutiveBreaker(5) }),
    );
    let calls = 0;
    const e = fromCockatiel<string, string>(policy)(async (_ctx, req) => {
      if (++calls === 1) throw new Error('blip');
      return `ok ${req}`;
    });
    expect(await e(background(), 'x')).to.equal('ok x');
    expect(calls).to.equal(2);
  });

  it('rejects what is not a policy', () => {
    expect(() => fromCockatiel({} as never)).to.throw(TypeError, /expected a cockatiel policy/);
  });
});
