import { background } from '@kitts/endpoint';
import { expect } from 'chai';
import fc from 'fast-check';
import { weightedRandom, weightedRoundRobin } from '../src/index.js';
import { aliasTable } from '../src/weighted-random.js';
import { entry, Source, switchable } from './fixtures.js';

const ctx = background();
const weighted = (ws: readonly number[]) =>
  ws.map((w, i) => entry(`e${String(i).padStart(3, '0')}`, { weight: w }));

describe('weightedRoundRobin (nginx smooth WRR)', () => {
  it('gives a a b a c a a for weights {5, 1, 1}', () => {
    const b = weightedRoundRobin(new Source([entry('a', { weight: 5 }), entry('b'), entry('c')]));
    const have = Array.from({ length: 14 }, () => b.pick(ctx, {}).instance.id).join(' ');
    expect(have).to.equal('a a b a c a a a a b a c a a');
  });

  it('sends ties to the earliest entry in the set order', () => {
    const b = weightedRoundRobin(
      new Source([entry('x', { weight: 2 }), entry('y', { weight: 2 }), entry('z')]),
    );
    // current weights x2 y2 z1: x and y tie, x is earlier -> x; then y, z, x, y.
    const have = Array.from({ length: 5 }, () => b.pick(ctx, {}).instance.id).join('');
    expect(have).to.equal('xyzxy');
  });

  it('picks each entry exactly w times in every period of Σw (property)', () => {
    fc.assert(
      fc.property(fc.array(fc.integer({ min: 1, max: 20 }), { minLength: 1, maxLength: 12 }), (ws) => {
        const b = weightedRoundRobin(new Source(weighted(ws)));
        const total = ws.reduce((a, w) => a + w, 0);
        for (let period = 0; period < 2; period++) {
          const counts = new Map<string, number>();
          for (let t = 0; t < total; t++) {
            const id = b.pick(ctx, {}).instance.id;
            counts.set(id, (counts.get(id) ?? 0) + 1);
          }
          ws.forEach((w, i) => {
            expect(counts.get(`e${String(i).padStart(3, '0')}`) ?? 0).to.equal(w);
          });
        }
      }),
      { numRuns: 100 },
    );
  });

  it('gives the same sequence with fractional weights (nginx loop per pick) as with the integers', () => {
    fc.assert(
      fc.property(fc.array(fc.integer({ min: 1, max: 9 }), { minLength: 2, maxLength: 8 }), (ws) => {
        fc.pre(ws.some((w) => w % 2 === 1)); // so that some half is fractional
        const ints = weightedRoundRobin(new Source(weighted(ws)));
        // Halves are exact in binary, so the current weights stay exact.
        const halves = weightedRoundRobin(new Source(weighted(ws.map((w) => w / 2))));
        const total = ws.reduce((a, w) => a + w, 0);
        for (let t = 0; t < 2 * total; t++) {
          expect(halves.pick(ctx, {}).instance.id).to.equal(ints.pick(ctx, {}).instance.id);
        }
      }),
      { numRuns: 50 },
    );
  });

  it('runs nginx over the usable entries only when weights are fractional', () => {
    const es = [
      switchable('a', { weight: 2.5 }),
      switchable('b', { weight: 0.5 }),
      switchable('c', { weight: 0.5 }),
    ];
    const b = weightedRoundRobin(new Source(es));
    es[0]!.up = false;
    // Over b and c alone (equal weights): b c b c...
    const have = Array.from({ length: 4 }, () => b.pick(ctx, {}).instance.id).join('');
    expect(have).to.equal('bcbc');
  });

  it('restarts the sequence from zero current weights when weights change', () => {
    const s = new Source([entry('a', { weight: 5 }), entry('b'), entry('c')]);
    const b = weightedRoundRobin(s);
    b.pick(ctx, {});
    b.pick(ctx, {});
    s.update([entry('a', { weight: 1 }), entry('b', { weight: 5 }), entry('c')]);
    const have = Array.from({ length: 7 }, () => b.pick(ctx, {}).instance.id).join(' ');
    expect(have).to.equal('b b a b c b b');
  });

  it('gives an unavailable entry no turn, its turns going to the next in the sequence', () => {
    const es = [switchable('a', { weight: 5 }), switchable('b'), switchable('c')];
    const b = weightedRoundRobin(new Source(es));
    es[0]!.up = false;
    const have = Array.from({ length: 7 }, () => b.pick(ctx, {}).instance.id);
    expect(have).to.not.include('a');
  });

  it('treats a set whose weights are all invalid as equal', () => {
    const b = weightedRoundRobin(new Source([entry('a', { weight: 0 }), entry('b', { weight: -1 })]));
    expect([b.pick(ctx, {}).instance.id, b.pick(ctx, {}).instance.id].sort()).to.deep.equal(['a', 'b']);
  });
});

describe('weightedRandom (alias method)', () => {
  it('builds an alias table whose columns add up to the weights exactly (property)', () => {
    fc.assert(
      fc.property(
        fc.array(fc.double({ min: 0, max: 100, noNaN: true }), { minLength: 1, maxLength: 40 }),
        (raw) => {
          const ws = raw.some((w) => w > 0) ? raw : raw.map(() => 1);
          const total = ws.reduce((a, w) => a + w, 0);
          const { prob, alias } = aliasTable(Float64Array.from(ws));
          const mass = new Float64Array(ws.length);
          for (let i = 0; i < ws.length; i++) {
            mass[i] = mass[i]! + prob[i]!;
            mass[alias[i]!] = mass[alias[i]!]! + (1 - prob[i]!);
          }
          ws.forEach((w, i) => {
            expect(mass[i]! / ws.length).to.be.closeTo(w / total, 1e-9);
          });
        },
      ),
    );
  });

  it('draws in proportion to the weights', () => {
    const b = weightedRandom(new Source(weighted([1, 2, 3, 4])), { seed: 7 });
    const n = 200_000;
    const counts = new Map<string, number>();
    for (let i = 0; i < n; i++) {
      const id = b.pick(ctx, {}).instance.id;
      counts.set(id, (counts.get(id) ?? 0) + 1);
    }
    [1, 2, 3, 4].forEach((w, i) => {
      expect(counts.get(`e00${i}`)! / n).to.be.closeTo(w / 10, 0.005);
    });
  });

  it('never draws an entry of weight 0 while another has weight', () => {
    const b = weightedRandom(new Source(weighted([0, 1, 0, 3])), { seed: 3 });
    const seen = new Set<string>();
    for (let i = 0; i < 10_000; i++) seen.add(b.pick(ctx, {}).instance.id);
    expect([...seen].sort()).to.deep.equal(['e001', 'e003']);
  });
});
