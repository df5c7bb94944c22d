import { background } from '@kitts/endpoint';
import { expect } from 'chai';
import fc from 'fast-check';
import { jumpHash } from '../src/index.js';
import { jumpBucket } from '../src/jump-hash.js';
import { entry, ids, Source, switchable } from './fixtures.js';

const ctx = background();
const bucket = (key: bigint, n: number) => {
  const k = BigInt.asUintN(64, key);
  return jumpBucket(Number(k >> 32n), Number(k & 0xffffffffn), n);
};

/** The paper's C++ in BigInt, as an independent reference. */
function reference(key: bigint, n: number): number {
  let k = BigInt.asUintN(64, key);
  let b = -1n;
  let j = 0n;
  while (j < BigInt(n)) {
    b = j;
    k = BigInt.asUintN(64, k * 2862933555777941757n + 1n);
    j = BigInt(Math.floor(Number(b + 1n) * (Number(1n << 31n) / Number((k >> 33n) + 1n))));
  }
  return Number(b);
}

describe('jumpHash', () => {
  // Guava's HashingTest.testConsistentHash_linearCongruentialGeneratorCompatibility.
  it("matches Guava's golden values", () => {
    const golden100 = [0, 55, 62, 8, 45, 59, 86, 97, 82, 59, 73, 37, 17, 56, 86, 21, 90, 37, 38, 83];
    golden100.forEach((want, i) => {
      expect(bucket(BigInt(i), 100)).to.equal(want);
    });
    expect(bucket(10863919174838991n, 11)).to.equal(6);
    expect(bucket(2016238256797177309n, 11)).to.equal(3);
    expect(bucket(1673758223894951030n, 11)).to.equal(5);
    expect(bucket(2n, 100001)).to.equal(80343);
    expect(bucket(2201n, 100001)).to.equal(22152);
    expect(bucket(2202n, 100001)).to.equal(15018);
  });

  it('agrees with a BigInt transcription of the paper (property)', () => {
    fc.assert(
      fc.property(
        fc.bigInt({ min: 0n, max: 2n ** 64n - 1n }),
        fc.integer({ min: 1, max: 1 << 20 }),
        (k, n) => {
          expect(bucket(k, n)).to.equal(reference(k, n));
        },
      ),
      { numRuns: 500 },
    );
  });

  it('moves about 1/(N+1) of the keys from N to N+1 buckets, all to the new one (property)', () => {
    const keys = Array.from({ length: 4000 }, (_, i) => BigInt(i) * 0x9e3779b97f4a7c15n);
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 60 }), (n) => {
        let moved = 0;
        for (const k of keys) {
          const before = bucket(k, n);
          const after = bucket(k, n + 1);
          if (before !== after) {
            moved++;
            expect(after).to.equal(n);
          }
        }
        const want = keys.length / (n + 1);
        expect(Math.abs(moved - want)).to.be.below(5 * Math.sqrt(want) + 5);
      }),
      { numRuns: 30 },
    );
  });

  it('maps bucket i to the i-th entry by instance id, string keys through xxHash64', () => {
    const es = ids(7, 'shard-').map((id) => entry(id));
    const b = jumpHash(new Source(es), { key: (_c, k: number | bigint | string) => k });
    for (let k = 0; k < 50; k++) expect(b.pick(ctx, k)).to.equal(es[bucket(BigInt(k), 7)]);
    expect(b.pick(ctx, -1)).to.equal(es[bucket(-1n, 7)]);
    expect(b.pick(ctx, 'same')).to.equal(b.pick(ctx, 'same'));
  });

  it('hands an unavailable bucket to the next one', () => {
    const es = ids(5).map((id) => switchable(id));
    const b = jumpHash(new Source(es), { key: (_c, k: number) => k });
    const k = 11;
    const home = bucket(BigInt(k), 5);
    es[home]!.up = false;
    expect(b.pick(ctx, k)).to.equal(es[(home + 1) % 5]);
  });

  it('rejects a missing key function', () => {
    expect(() => jumpHash(new Source(), {} as never)).to.throw(TypeError, /key/);
  });
});
