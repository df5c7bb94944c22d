import { expect } from 'chai';
import fc from 'fast-check';
import { retryBudget } from '../src/index.js';

const drain = (b: ReturnType<typeof retryBudget>) => {
  let n = 0;
  while (b.tryWithdraw()) n++;
  return n;
};

describe('retryBudget (Finagle RetryBudget)', () => {
  it('allows exactly ttl x minRetriesPerSecond / 1000 retries when fresh (property)', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 60 }).map((s) => s * 1000),
        fc.integer({ min: 0, max: 50 }),
        fc.double({ min: 0.01, max: 2, noNaN: true }),
        (ttl, min, pct) => {
          const b = retryBudget({ ttl, minRetriesPerSecond: min, percentCanRetry: pct, now: () => 0 });
          expect(b.balance()).to.equal((ttl * min) / 1000);
          expect(drain(b)).to.equal((ttl * min) / 1000);
        },
      ),
      { numRuns: 100 },
    );
  });

  it('adds percentCanRetry of a retry per request', () => {
    const b = retryBudget({ now: () => 0 }); // 10 s, 10/s, 20%
    for (let i = 0; i < 100; i++) b.deposit();
    expect(drain(b)).to.equal(100 + 20);
  });

  it('expires deposits after ttl, and refills the reserve as withdrawals expire', () => {
    let now = 0;
    const b = retryBudget({ ttl: 1000, minRetriesPerSecond: 2, percentCanRetry: 0.5, now: () => now });
    for (let i = 0; i < 10; i++) b.deposit();
    expect(b.balance()).to.equal(2 + 5);
    expect(drain(b)).to.equal(7);
    now = 500;
    expect(b.tryWithdraw()).to.equal(false);
    now = 1100; // past ttl: the deposits and the withdrawals are gone, the reserve is back
    expect(b.balance()).to.equal(2);
    for (let i = 0; i < 4; i++) b.deposit();
    expect(drain(b)).to.equal(4);
  });

  it('allows nothing with neither a reserve nor a percentage', () => {
    const b = retryBudget({ minRetriesPerSecond: 0, percentCanRetry: 0 });
    b.deposit();
    expect(b.tryWithdraw()).to.equal(false);
  });

  it('names a bad option', () => {
    expect(() => retryBudget({ ttl: 0 })).to.throw(TypeError, /ttl/);
    expect(() => retryBudget({ percentCanRetry: -1 })).to.throw(TypeError, /percentCanRetry/);
    expect(() => retryBudget({ minRetriesPerSecond: Number.NaN })).to.throw(TypeError, /minRetriesPerSecond/);
  });
});
