import {
  background,
  CanceledError,
  type Endpoint,
  nop,
  RateLimitedError,
  withCancel,
  withTimeout,
} from '@kitts/endpoint';
import { assertNoLeaks, baseline } from '@kitts/testkit';
import { expect } from 'chai';
import fc from 'fast-check';
import { delaying, erroring, tokenBucket } from '../src/index.js';

function fakeClock(start = 0) {
  let t = start;
  return { now: () => t, advance: (ms: number) => void (t += ms) };
}

async function outcome<T>(p: Promise<T>): Promise<T | unknown> {
  try {
    return await p;
  } catch (err) {
    return err;
  }
}

/** go-kit's testSuccessThenFailure: under a 500 ms context the first call goes, the next fails. */
async function testSuccessThenFailure(e: Endpoint, failContains: string): Promise<unknown> {
  const [ctx, cancel] = withTimeout(background(), 500);
  try {
    await e(ctx, {});
    const err = await outcome(e(ctx, {}));
    expect(String((err as Error).message)).to.contain(failContains);
    return err;
  } finally {
    cancel();
  }
}

describe('tokenBucket with erroring and delaying (go-kit tests)', () => {
  it('erroring: one token a minute lets one call through and refuses the next', async () => {
    const clock = fakeClock();
    const err = await testSuccessThenFailure(
      erroring(tokenBucket({ rate: 1 / 60, burst: 1, now: clock.now }))(nop),
      'rate limit exceeded',
    );
    expect(err).to.be.instanceOf(RateLimitedError);
    expect((err as RateLimitedError).retryAfter).to.equal(60_000);
    expect((err as RateLimitedError).reason).to.equal('rate');
  });

  it('delaying: honours a 500 ms context, failing at once when the token would come too late', async () => {
    const bucket = tokenBucket({ rate: 1 / 60, burst: 1 });
    await testSuccessThenFailure(delaying(bucket)(nop), 'deadline');
    // Nothing was reserved for the call that could not wait.
    expect(bucket.tokens).to.be.greaterThanOrEqual(0);
  });
});

describe('tokenBucket', () => {
  it('starts full, refills at rate, and caps at burst', () => {
    const clock = fakeClock();
    const bucket = tokenBucket({ rate: 10, burst: 3, now: clock.now });
    expect([bucket.take(), bucket.take(), bucket.take()]).to.deep.equal([0, 0, 0]);
    expect(bucket.take()).to.equal(100);
    clock.advance(40);
    expect(bucket.take()).to.equal(60);
    clock.advance(60);
    expect(bucket.take()).to.equal(0);
    clock.advance(10_000);
    expect(bucket.tokens).to.equal(3);
  });

  it('never grants more than burst + rate × elapsed, and a caller who waits retryAfter gets one (property)', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 5 }),
        fc.double({ min: 0.5, max: 200, noNaN: true }),
        fc.array(fc.tuple(fc.nat({ max: 2_000 }), fc.integer({ min: 1, max: 6 })), { maxLength: 40 }),
        (burst, rate, steps) => {
          const clock = fakeClock(1_000);
          const bucket = tokenBucket({ rate, burst, now: clock.now });
          let granted = 0;
          let elapsed = 0;
          for (const [dt, tries] of steps) {
            clock.advance(dt);
            elapsed += dt;
            for (let i = 0; i < tries; i++) {
              const wait = bucket.take();
              if (wait === 0) {
                granted++;
                continue;
              }
              expect(wait).to.be.greaterThan(0);
              clock.advance(wait);
              elapsed += wait;
              expect(bucket.take(), 'after waiting retryAfter').to.equal(0);
              granted++;
            }
          }
          expect(granted).to.be.at.most(burst + (rate * elapsed) / 1000 + 1e-6);
        },
      ),
    );
  });

  it('reserve() takes future tokens in order and refuses waits beyond maxWait', () => {
    const clock = fakeClock();
    const bucket = tokenBucket({ rate: 100, burst: 1, now: clock.now });
    expect(bucket.reserve(Number.POSITIVE_INFINITY)).to.equal(0);
    expect(bucket.reserve(Number.POSITIVE_INFINITY)).to.equal(10);
    expect(bucket.reserve(Number.POSITIVE_INFINITY)).to.equal(20);
    expect(bucket.reserve(25)).to.equal(-1);
    bucket.cancel();
    expect(bucket.reserve(25)).to.equal(20);
  });

  it('rejects bad options by name', () => {
    expect(() => tokenBucket({ rate: 0, burst: 1 })).to.throw(RangeError, /rate must be a positive number/);
    expect(() => tokenBucket({ rate: 1, burst: 0.5 })).to.throw(
      RangeError,
      /burst must be a positive integer/,
    );
    expect(() => tokenBucket(undefined as never)).to.throw(TypeError, /rate, burst/);
    expect(() => erroring({} as never)).to.throw(TypeError, /expected a limiter/);
  });
});

describe('delaying', () => {
  it('waits for its token, then calls through', async () => {
    const bucket = tokenBucket({ rate: 500, burst: 1 });
    let calls = 0;
    const e = delaying(bucket)(async () => ++calls);
    const have = await Promise.all([e(background(), {}), e(background(), {}), e(background(), {})]);
    expect(have.sort()).to.deep.equal([1, 2, 3]);
  });

  it('ends the wait at once with CanceledError when the caller cancels, and gives the token back', async () => {
    const base = await baseline();
    const clock = fakeClock();
    const bucket = tokenBucket({ rate: 1 / 60, burst: 1, now: clock.now });
    bucket.take();
    let calls = 0;
    const e = delaying(bucket)(async () => ++calls);
    const [ctx, cancel] = withCancel(background());
    const pending = outcome(e(ctx, {}));
    expect(bucket.tokens).to.equal(-1);
    cancel();
    expect(await pending).to.be.instanceOf(CanceledError);
    expect(bucket.tokens).to.equal(0);
    expect(calls).to.equal(0);
    await assertNoLeaks(base);
  });

  it('fails at once for a context that has already ended', async () => {
    const [ctx, cancel] = withCancel(background());
    cancel();
    const bucket = tokenBucket({ rate: 1, burst: 1 });
    expect(await outcome(delaying(bucket)(nop)(ctx, {}))).to.be.instanceOf(CanceledError);
    expect(bucket.tokens).to.equal(1);
  });
});
