import {
  background,
  CanceledError,
  CircuitOpenError,
  type Context,
  DeadlineExceededError,
  DecodeError,
  key,
  withCancel,
  withValue,
} from '@kitts/endpoint';
import { assertNoLeaks, baseline } from '@kitts/testkit';
import { expect } from 'chai';
import CircuitBreaker from 'opossum';
import { fromOpossum, opossumAction, opossumErrorFilter } from '../src/opossum.js';
import { deferred, outcome } from './helpers.js';

describe('fromOpossum: an opossum 9 breaker as a Middleware', () => {
  const made: CircuitBreaker[] = [];
  let base: Map<string, number>;
  // Every opossum breaker runs a bucket-rotation interval until shut down.
  const opossum = (options: CircuitBreaker.Options = {}) => {
    const b = new CircuitBreaker(opossumAction, options);
    made.push(b as CircuitBreaker);
    return b;
  };
  beforeEach(async () => {
    base = await baseline();
  });
  afterEach(async () => {
    for (const b of made.splice(0)) b.shutdown();
    await assertNoLeaks(base);
  });

  it('passes the request and a child of the caller context, and cancels the child afterwards', async () => {
    const user = key<string>('user');
    const parent = withValue(background(), user, 'ada');
    let seen: Context | undefined;
    const e = fromOpossum<number, string>(opossum())(async (ctx, n) => {
      seen = ctx;
      return `${ctx.value(user)}:${n}`;
    });
    expect(await e(parent, 7)).to.equal('ada:7');
    expect(seen).to.not.equal(parent);
    expect(seen!.err()).to.be.instanceOf(CanceledError);
  });

  it("turns opossum's timeout into DeadlineExceededError and ends the endpoint's context", async () => {
    const aborted = deferred<unknown>();
    const e = fromOpossum(opossum({ timeout: 20 }))(
      (ctx) =>
        new Promise((_, reject) =>
          ctx.signal.addEventListener('abort', () => {
            aborted.resolve(ctx.err());
            reject(ctx.err());
          }),
        ),
    );
    expect(await outcome(e(background(), {}))).to.be.instanceOf(DeadlineExceededError);
    expect(await aborted.promise).to.be.instanceOf(CanceledError);
  });

  it('an open opossum breaker fails fast with CircuitOpenError and a retryAfter', async () => {
    const b = opossum({ resetTimeout: 5_000 });
    let thru = 0;
    const e = fromOpossum(b)(async () => ++thru);
    b.open();
    const have = (await outcome(e(background(), {}))) as CircuitOpenError;
    expect(have).to.be.instanceOf(CircuitOpenError);
    expect(have.reason).to.equal('open');
    expect(have.retryAfter).to.be.greaterThan(0).and.at.most(5_000);
    expect(thru).to.equal(0);
  });

  it("a full semaphore (capacity) is a CircuitOpenError with reason 'max-concurrency'", async () => {
    const gate = deferred<string>();
    const e = fromOpossum(opossum({ capacity: 1 }))(() => gate.promise);
    const first = e(background(), {});
    const have = (await outcome(e(background(), {}))) as CircuitOpenError;
    expect(have.reason).to.equal('max-concurrency');
    gate.resolve('done');
    expect(await first).to.equal('done');
  });

  it("the endpoint's own errors pass through as they are, even one coded ETIMEDOUT", async () => {
    const own = Object.assign(new Error('socket timed out'), { code: 'ETIMEDOUT' });
    const e = fromOpossum(opossum())(async () => {
      throw own;
    });
    expect(await outcome(e(background(), {}))).to.equal(own);
  });

  it("opossumErrorFilter keeps 4xx errors and the caller's cancellations out of the stats", async () => {
    const b = opossum({ errorThresholdPercentage: 1, volumeThreshold: 0, errorFilter: opossumErrorFilter });
    let err: unknown = new DecodeError('bad');
    const e = fromOpossum(b)(async () => {
      throw err;
    });
    await outcome(e(background(), {}));
    const [ctx, cancel] = withCancel(background());
    const pending = outcome(e(ctx, {}));
    cancel();
    err = new Error('aborted');
    await pending;
    expect(b.opened).to.equal(false);
    err = new Error('real failure');
    await outcome(e(background(), {}));
    expect(b.opened).to.equal(true);
  });

  it('does not fire for a caller whose context has already ended', async () => {
    const b = opossum();
    const [ctx, cancel] = withCancel(background());
    cancel();
    let thru = 0;
    expect(await outcome(fromOpossum(b)(async () => ++thru)(ctx, {}))).to.be.instanceOf(CanceledError);
    expect(thru).to.equal(0);
    expect(b.stats.fires).to.equal(0);
  });

  it('insists on a breaker built around opossumAction', () => {
    const b = new CircuitBreaker(async () => 1);
    made.push(b as CircuitBreaker);
    expect(() => fromOpossum(b)).to.throw(TypeError, /opossumAction/);
    expect(() => fromOpossum({} as never)).to.throw(TypeError, /expected an opossum CircuitBreaker/);
  });
});
