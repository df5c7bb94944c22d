import {
  background,
  CanceledError,
  DeadlineExceededError,
  type Endpoint,
  RateLimitedError,
  withCancel,
  withTimeout,
} from '@kitts/endpoint';
import { assertNoLeaks, baseline } from '@kitts/testkit';
import { expect } from 'chai';
import fc from 'fast-check';
import { concurrencyLimit } from '../src/index.js';

async function outcome<T>(p: Promise<T>): Promise<T | unknown> {
  try {
    return await p;
  } catch (err) {
    return err;
  }
}

/** An endpoint whose calls wait until the test settles them; records the requests in order. */
function gated() {
  const pending: { req: unknown; resolve: (v: unknown) => void; reject: (e: unknown) => void }[] = [];
  const endpoint: Endpoint = (_ctx, req) =>
    new Promise((resolve, reject) => {
      pending.push({ req, resolve, reject });
    });
  return { endpoint, pending };
}

const tick = () => new Promise((r) => setImmediate(r));

describe('concurrencyLimit (bulkhead)', () => {
  it("refuses calls beyond max at once with a RateLimitedError, reason 'concurrency'", async () => {
    const limit = concurrencyLimit({ max: 2 });
    const g = gated();
    const e = limit(g.endpoint);
    const a = e(background(), 'a');
    const b = e(background(), 'b');
    const refused = (await outcome(e(background(), 'c'))) as RateLimitedError;
    expect(refused).to.be.instanceOf(RateLimitedError);
    expect(refused.reason).to.equal('concurrency');
    expect(refused.message).to.contain('2 calls in flight');
    await tick();
    expect(g.pending.map((p) => p.req)).to.deep.equal(['a', 'b']);
    g.pending[0]!.resolve(1);
    g.pending[1]!.reject(new Error('x'));
    await a;
    await outcome(b);
    expect(limit.inFlight).to.equal(0);
  });

  it('queues up to `queue` calls in order and hands each freed slot to the first', async () => {
    const limit = concurrencyLimit({ max: 1, queue: 2 });
    const g = gated();
    const e = limit(g.endpoint);
    const calls = ['a', 'b', 'c'].map((r) => outcome(e(background(), r)));
    expect(await outcome(e(background(), 'd'))).to.be.instanceOf(RateLimitedError);
    await tick();
    expect([limit.inFlight, limit.queued]).to.deep.equal([1, 2]);
    expect(g.pending.map((p) => p.req)).to.deep.equal(['a']);
    g.pending[0]!.resolve('A');
    await tick();
    expect(g.pending.map((p) => p.req)).to.deep.equal(['a', 'b']);
    g.pending[1]!.reject(new Error('b failed'));
    await tick();
    expect(g.pending.map((p) => p.req)).to.deep.equal(['a', 'b', 'c']);
    g.pending[2]!.resolve('C');
    const have = await Promise.all(calls);
    expect(have[0]).to.equal('A');
    expect((have[1] as Error).message).to.equal('b failed');
    expect(have[2]).to.equal('C');
    expect([limit.inFlight, limit.queued]).to.deep.equal([0, 0]);
  });

  it('a queued call whose caller cancels leaves the queue with CanceledError', async () => {
    const base = await baseline();
    const limit = concurrencyLimit({ max: 1, queue: 2 });
    const g = gated();
    const e = limit(g.endpoint);
    const first = e(background(), 'a');
    const [ctx, cancel] = withCancel(background());
    const quitter = outcome(e(ctx, 'b'));
    const patient = e(background(), 'c');
    expect(limit.queued).to.equal(2);
    cancel();
    expect(await quitter).to.be.instanceOf(CanceledError);
    expect(limit.queued).to.equal(1);
    g.pending[0]!.resolve('A');
    await first;
    await tick();
    expect(g.pending.map((p) => p.req)).to.deep.equal(['a', 'c']);
    g.pending[1]!.resolve('C');
    expect(await patient).to.equal('C');
    await assertNoLeaks(base);
  });

  it("a queued call ends with DeadlineExceededError at its context's deadline", async () => {
    const base = await baseline();
    const limit = concurrencyLimit({ max: 1, queue: 1 });
    const g = gated();
    const e = limit(g.endpoint);
    const first = e(background(), 'a');
    const [ctx, cancel] = withTimeout(background(), 10);
    expect(await outcome(e(ctx, 'b'))).to.be.instanceOf(DeadlineExceededError);
    cancel();
    g.pending[0]!.resolve('A');
    await first;
    expect(limit.queued).to.equal(0);
    await assertNoLeaks(base);
  });

  it('never has more than max in flight, whatever the order of events (property)', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.integer({ min: 1, max: 4 }),
        fc.integer({ min: 0, max: 4 }),
        fc.array(fc.constantFrom('call', 'finish', 'cancel'), { maxLength: 40 }),
        async (max, queue, ops) => {
          const limit = concurrencyLimit({ max, queue });
          const g = gated();
          const cancels: (() => void)[] = [];
          const all: Promise<unknown>[] = [];
          let peak = 0;
          let running = 0;
          const tracked: Endpoint = async (ctx, req) => {
            running++;
            peak = Math.max(peak, running);
            try {
              return await g.endpoint(ctx, req);
            } finally {
              running--;
            }
          };
          const e2 = limit(tracked);
          for (const op of ops) {
            if (op === 'call') {
              const [ctx, cancel] = withCancel(background());
              cancels.push(cancel);
              all.push(outcome(e2(ctx, {})));
            } else if (op === 'finish') {
              g.pending.shift()?.resolve('ok');
            } else {
              cancels.shift()?.();
            }
            await tick();
            expect(limit.inFlight).to.be.at.most(max);
            expect(limit.queued).to.be.at.most(queue);
          }
          while (g.pending.length > 0 || limit.inFlight > 0) {
            g.pending.shift()?.resolve('ok');
            await tick();
          }
          await Promise.all(all);
          expect(peak).to.be.at.most(max);
          expect([limit.inFlight, limit.queued]).to.deep.equal([0, 0]);
        },
      ),
      { numRuns: 60 },
    );
  });

  it('rejects bad options by name', () => {
    expect(() => concurrencyLimit({ max: 0 })).to.throw(RangeError, /max must be a positive integer/);
    expect(() => concurrencyLimit({ max: 1, queue: -1 })).to.throw(
      RangeError,
      /queue must be a non-negative/,
    );
    expect(() => concurrencyLimit(undefined as never)).to.throw(TypeError, /max, queue/);
  });
});
