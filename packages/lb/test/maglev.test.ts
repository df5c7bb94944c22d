import { background } from '@kitts/endpoint';
import { expect } from 'chai';
import fc from 'fast-check';
import { maglev, xxh64 } from '../src/index.js';
import { maglevTable } from '../src/maglev.js';
import { entry, ids, Source, switchable } from './fixtures.js';

const ctx = background();
const byKey = { key: (_ctx: unknown, k: string | number | bigint) => k };
const host = (port: number, weight = 1) =>
  entry(`127.0.0.1:${port}`, { address: `127.0.0.1:${port}`, weight });

describe('maglev against Envoy (test/common/upstream/maglev_lb_test.cc)', () => {
  it('reproduces the Basic table: 6 hosts, table size 7', () => {
    const hosts = [90, 91, 92, 93, 94, 95].map((p) => host(p));
    const b = maglev(new Source(hosts), { ...byKey, tableSize: 7 });
    const want = [2, 4, 0, 1, 5, 0, 3];
    for (let i = 0; i < 3 * want.length; i++) {
      expect(b.pick(ctx, i).instance.address).to.equal(hosts[want[i % want.length]!]!.instance.address);
    }
  });

  it('reproduces the Weighted table: weights 1 and 2, table size 17', () => {
    const hosts = [host(90, 1), host(91, 2)];
    const b = maglev(new Source(hosts), { ...byKey, tableSize: 17 });
    const want = [1, 0, 0, 1, 0, 1, 1, 0, 1, 1, 1, 1, 1, 0, 1, 0, 1];
    for (let i = 0; i < 3 * want.length; i++) {
      expect(b.pick(ctx, i).instance.address).to.equal(hosts[want[i % want.length]!]!.instance.address);
    }
    // Envoy's min/max entries per host for this case.
    const table = maglevTable(hosts, Float64Array.from([1, 2]), 17);
    const counts = [0, 0];
    for (const i of table) counts[i]!++;
    expect(counts).to.deep.equal([6, 11]);
  });

  it('orders hosts by key (address), not by the set order', () => {
    // Instance ids sort the other way round from addresses.
    const hosts = [90, 91, 92, 93, 94, 95].map((p) => entry(`id-${99 - p}`, { address: `127.0.0.1:${p}` }));
    const b = maglev(new Source(hosts), { ...byKey, tableSize: 7 });
    expect(Array.from({ length: 7 }, (_, i) => b.pick(ctx, i).instance.address.slice(-2))).to.deep.equal([
      '92',
      '94',
      '90',
      '91',
      '95',
      '90',
      '93',
    ]);
  });

  it('hashes a string key with xxHash64 and takes it modulo the table size', () => {
    const hosts = ids(5).map((id) => entry(id));
    const table = maglevTable(hosts, new Float64Array(5).fill(1), 65537);
    const b = maglev(new Source(hosts), byKey);
    for (const k of ['alice', 'bob', 'ünïcödé', '']) {
      expect(b.pick(ctx, k)).to.equal(hosts[table[Number(xxh64(k) % 65537n)]!]);
    }
    const big = 2n ** 64n - 12345n;
    expect(b.pick(ctx, big)).to.equal(hosts[table[Number(big % 65537n)]!]);
  });

  it('gives every host of equal weight the same number of slots, give or take one (property)', () => {
    fc.assert(
      fc.property(
        fc.uniqueArray(fc.string({ minLength: 1, maxLength: 12 }), { minLength: 1, maxLength: 40 }),
        (names) => {
          const hosts = names.map((n, i) => entry(`h${i}`, { address: n }));
          const table = maglevTable(hosts, new Float64Array(hosts.length).fill(1), 251);
          const counts = new Array<number>(hosts.length).fill(0);
          for (const i of table) counts[i]!++;
          expect(Math.max(...counts) - Math.min(...counts)).to.be.at.most(1);
        },
      ),
      { numRuns: 50 },
    );
  });

  it('moves close to 1/N of the keys when one of N hosts leaves (property)', () => {
    const keys = Array.from({ length: 20_000 }, (_, i) => i * 2654435761);
    fc.assert(
      fc.property(fc.integer({ min: 3, max: 30 }), fc.nat(), (n, r) => {
        const all = ids(n).map((id) => entry(id));
        const gone = all[r % n]!;
        const before = maglev(new Source(all), byKey);
        const after = maglev(new Source(all.filter((e) => e !== gone)), byKey);
        let moved = 0;
        let movedOthers = 0;
        for (const k of keys) {
          const was = before.pick(ctx, k);
          const now = after.pick(ctx, k);
          if (was !== now) {
            moved++;
            if (was !== gone) movedOthers++;
          }
        }
        // The gone host's own keys (about 1/N) must move; Maglev moves a few others too.
        expect(moved / keys.length).to.be.within(0.8 / n, 1.6 / n);
        expect(movedOthers / keys.length).to.be.below(0.6 / n);
      }),
      { numRuns: 15 },
    );
  });

  it('hands the slot of an unavailable host to the next slot owner', () => {
    const hosts = [90, 91, 92].map((p) => switchable(`h${p}`, { address: `127.0.0.1:${p}` }));
    const b = maglev(new Source(hosts), { ...byKey, tableSize: 7 });
    const table = maglevTable(hosts, new Float64Array(3).fill(1), 7);
    const k = table.indexOf(0);
    hosts[0]!.up = false;
    let next = (k + 1) % 7;
    while (table[next] === 0) next = (next + 1) % 7;
    expect(b.pick(ctx, k)).to.equal(hosts[table[next]!]);
  });

  it('requires a prime table size', () => {
    expect(() => maglev(new Source(), { ...byKey, tableSize: 8 })).to.throw(TypeError, /prime/);
    expect(() => maglev(new Source(), { ...byKey, tableSize: 1 })).to.throw(TypeError, /prime/);
    expect(() => maglev(new Source(), {} as never)).to.throw(TypeError, /key/);
  });
});
