import { background } from '@kitts/endpoint';
import { expect } from 'chai';
import fc from 'fast-check';
import { md5LE32 } from '../src/hash.js';
import { ringHash } from '../src/index.js';
import { ketamaRing } from '../src/ketama.js';
import { ringIndex } from '../src/ring.js';
import { entry, ids, Source, switchable } from './fixtures.js';

const ctx = background();
const byKey = { key: (_ctx: unknown, k: string | number | bigint) => k };
const keys = Array.from({ length: 2000 }, (_, i) => `user-${i * 7919}`);
const owners = (b: ReturnType<typeof ringHash<string | number | bigint, string>>) =>
  keys.map((k) => b.pick(ctx, k).instance.id);

/** Each entry's exact share of the 32-bit circle, from the ring's points. */
function shares(n: number, weights?: number[]): number[] {
  const es = ids(n).map((id, i) => entry(id, { weight: weights?.[i] ?? 1 }));
  const ring = ringHashRing(es);
  const share = new Array<number>(n).fill(0);
  const { points, owners: own } = ring;
  for (let i = 0; i < points.length; i++) {
    const prev = i === 0 ? points[points.length - 1]! - 2 ** 32 : points[i - 1]!;
    share[own[i]!]! += (points[i]! - prev) / 2 ** 32;
  }
  return share;
}

function ringHashRing(es: ReturnType<typeof entry>[]) {
  const b = ringHash(new Source(es), byKey);
  b.pick(ctx, 'warm-up');
  return (b as unknown as { derived: { get(): { points: Uint32Array; owners: Uint32Array } } }).derived.get();
}

describe('ringHash', () => {
  it('moves only the keys of a removed instance (property)', () => {
    fc.assert(
      fc.property(fc.integer({ min: 2, max: 20 }), fc.nat(), (n, r) => {
        const all = ids(n).map((id) => entry(id));
        const gone = all[r % n]!.instance.id;
        const before = owners(ringHash(new Source(all), byKey));
        const after = owners(ringHash(new Source(all.filter((e) => e.instance.id !== gone)), byKey));
        keys.forEach((_, i) => {
          if (before[i] !== gone) expect(after[i]).to.equal(before[i]);
          else expect(after[i]).to.not.equal(gone);
        });
      }),
      { numRuns: 25 },
    );
  });

  it('sends the keys of an unavailable owner where they would go without it (property)', () => {
    fc.assert(
      fc.property(fc.integer({ min: 2, max: 12 }), fc.nat(), (n, r) => {
        const all = ids(n).map((id) => switchable(id));
        const down = all[r % n]!;
        const b = ringHash(new Source(all), byKey);
        down.up = false;
        const without = owners(ringHash(new Source(all.filter((e) => e !== down)), byKey));
        expect(owners(b)).to.deep.equal(without);
      }),
      { numRuns: 20 },
    );
  });

  it('keeps every share of the circle within [0.6, 1.4] of 1/n at 160 points per instance', () => {
    for (const n of [2, 3, 7, 20, 50]) {
      for (const s of shares(n)) expect(s * n).to.be.within(0.6, 1.4);
    }
  });

  it('gives an instance of weight 3 about three times the share', () => {
    const s = shares(4, [3, 1, 1, 1]);
    expect(s[0]! / ((s[1]! + s[2]! + s[3]!) / 3)).to.be.within(2.5, 3.5);
  });

  it('takes an integer or bigint key as its hash, using the low 32 bits', () => {
    const b = ringHash(new Source(ids(10).map((id) => entry(id))), byKey);
    for (const k of [0, 5, 123456789, 2 ** 32 - 1]) {
      const low = b.pick(ctx, k).instance.id;
      expect(b.pick(ctx, BigInt(k) + (7n << 32n)).instance.id).to.equal(low);
      expect(b.pick(ctx, k + 3 * 2 ** 32).instance.id).to.equal(low);
    }
  });

  it('builds the ring once per set version, not per pick', () => {
    let hashed = 0;
    const hash = (s: string) => {
      hashed++;
      return BigInt(md5LE32(s));
    };
    const source = new Source(ids(3).map((id) => entry(id)));
    const b = ringHash(source, { key: (_c, k: number) => k, hash, vnodes: 10 });
    b.pick(ctx, 1);
    expect(hashed).to.equal(30);
    for (let i = 0; i < 1000; i++) b.pick(ctx, i);
    expect(hashed).to.equal(30);
    source.update(ids(4).map((id) => entry(id)));
    b.pick(ctx, 1);
    expect(hashed).to.equal(70);
  });

  it('rejects bad options with a message naming them', () => {
    const s = new Source();
    expect(() => ringHash(s, {} as never)).to.throw(TypeError, /key/);
    expect(() => ringHash(s, { ...byKey, vnodes: 0 })).to.throw(TypeError, /vnodes/);
    expect(() => ringHash(s, { ...byKey, preset: 'ketama', vnodes: 100 })).to.throw(TypeError, /ketama/);
    expect(() => ringHash(s, { ...byKey, preset: 'x' as 'ketama' })).to.throw(TypeError, /preset/);
  });

  it('names the bad value when key() returns something that is not a key', () => {
    const b = ringHash(new Source([entry('a')]), { key: () => 1.5 });
    expect(() => b.pick(ctx, {})).to.throw(TypeError, /1\.5/);
  });
});

describe("ringHash preset 'ketama' (libketama)", () => {
  // Vectors from libketama's python_ketama/tests.py.
  it('hashes keys as ketama_hashi: the first 4 bytes of MD5, little-endian', () => {
    expect(md5LE32('test')).to.equal(3446378249);
  });

  it('builds 160 points per server and maps "test" as libketama does', () => {
    const es = [
      entry('a', { address: '127.0.0.1:11211', weight: 600 }),
      entry('b', { address: '127.0.0.1:11212', weight: 400 }),
    ];
    const ring = ketamaRing(es, Float64Array.from([600, 400]));
    expect(ring.points.length).to.equal(320);
    const at = ringIndex(ring, md5LE32('test'));
    expect(ring.points[at]).to.equal(3454255383);
    expect(es[ring.owners[at]!]!.instance.address).to.equal('127.0.0.1:11211');
    const b = ringHash(new Source(es), { key: () => 'test', preset: 'ketama' });
    expect(b.pick(ctx, {}).instance.address).to.equal('127.0.0.1:11211');
  });

  it('takes an integer key as the point hash itself', () => {
    const es = [entry('a', { address: '127.0.0.1:11211' }), entry('b', { address: '127.0.0.1:11212' })];
    const b = ringHash(new Source(es), { key: (_c, k: number) => k, preset: 'ketama' });
    expect(b.pick(ctx, 3446378249).instance.id).to.equal(b.pick(ctx, 'test' as never).instance.id);
  });
});
