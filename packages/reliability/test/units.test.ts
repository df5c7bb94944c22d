// The soak's own arithmetic and generators: percentiles, summaries, goal checks, the
// plan a duration makes, and the malformed-input generators (every category, replayable).
import { expect } from 'chai';
import fc from 'fast-check';
import { GRPC_CATEGORIES, grpcCase } from '../src/bad-input/grpc-cases.js';
import { HTTP_CATEGORIES, httpCase } from '../src/bad-input/http-cases.js';
import { missedGoals, percentile, plan, Reporter, type Sample, summarize, toMarkdown } from '../src/index.js';
import { makeRng } from '../src/rng.js';

describe('soak arithmetic', () => {
  it('takes nearest-rank percentiles', () => {
    const v = [5, 1, 4, 2, 3, 6, 7, 8, 9, 10];
    expect(percentile(v, 50)).to.equal(5);
    expect(percentile(v, 99)).to.equal(10);
    expect(percentile(v, 10)).to.equal(1);
    expect(percentile([], 50)).to.be.NaN;
  });

  it('a percentile is one of the values and grows with p (property)', () => {
    fc.assert(
      fc.property(
        fc.array(fc.double({ noNaN: true, min: 0, max: 1e6 }), { minLength: 1 }),
        fc.integer({ min: 1, max: 99 }),
        (v, p) => {
          const a = percentile(v, p);
          expect(v).to.include(a);
          expect(percentile(v, p + 1)).to.be.at.least(a);
        },
      ),
    );
  });

  it('summarizes the samples of a window: failures by code, latencies of successes only', () => {
    const s = (at: number, ms: number, ok: boolean, code?: string): Sample => ({
      at,
      ms,
      ok,
      by: ok ? 'a' : undefined,
      code,
    });
    const samples = [
      s(0, 1, true),
      s(10, 100, false, 'CONNECTION'),
      s(20, 3, true),
      s(30, 2, false, 'CONNECTION'),
      s(40, 9, true),
    ];
    const have = summarize(samples, 5, 40);
    expect(have).to.deep.equal({
      sent: 3,
      succeeded: 1,
      failed: 2,
      p50: 3,
      p99: 3,
      failures: { CONNECTION: 2 },
    });
  });

  it('fails a run on a missed goal-0 figure, and reports a missed soft goal without failing', () => {
    const r = new Reporter('x', 'X');
    r.info('sent', 10);
    r.zero('failed', 0);
    r.below('share', 7, 5, '%', { soft: true });
    expect(missedGoals([r.report()])).to.deep.equal([]);
    expect(missedGoals([r.report()], { soft: true })).to.deep.equal(['X: share = 7% (goal < 5%, soft)']);
    r.zero('crashes', 1);
    expect(missedGoals([r.report()])).to.deep.equal(['X: crashes = 1 (goal 0)']);
    expect(toMarkdown([r.report()]))
      .to.contain('| crashes | 1 | 0 ✗ |')
      .and.contain('| failed | 0 | 0 ✓ |');
  });

  it("shares a duration out between the scenarios, with the issue's counts for the long run", () => {
    const long = plan(300, 'long');
    expect(long.badInput).to.deep.equal({ http: 10_000, grpc: 1_000 });
    expect(long.leakCycles).to.equal(1_000);
    expect(long.outage.outageMs).to.equal(10_000);
    expect(long.churn.steadyMs + long.churn.churnMs).to.equal(75_000);
    expect(plan(40, 'short').badInput.http).to.be.below(10_000);
    expect(() => plan(5, 'short')).to.throw(RangeError, /--duration/);
    expect(() => plan(Number.NaN, 'short')).to.throw(RangeError);
  });
});

describe('malformed input generators', () => {
  it('make every HTTP category in turn, the same cases for the same seed', () => {
    const a = makeRng(7);
    const b = makeRng(7);
    const seen = new Set<string>();
    for (let i = 0; i < 400; i++) {
      const x = httpCase(a, i);
      const y = httpCase(b, i);
      expect(x.category).to.equal(HTTP_CATEGORIES[i % HTTP_CATEGORIES.length]);
      expect(x.bytes.equals(y.bytes)).to.equal(true);
      seen.add(x.category);
    }
    expect([...seen].sort()).to.deep.equal([...HTTP_CATEGORIES].sort());
  });

  it('make every gRPC category, oversized ones rarely, the same cases for the same seed', () => {
    const a = makeRng(7);
    const b = makeRng(7);
    const count = new Map<string, number>();
    for (let i = 0; i < 350; i++) {
      const x = grpcCase(a, i);
      expect(x.body.equals(grpcCase(b, i).body)).to.equal(true);
      count.set(x.category, (count.get(x.category) ?? 0) + 1);
    }
    expect([...count.keys()].sort()).to.deep.equal([...GRPC_CATEGORIES].sort());
    expect(count.get('oversized')).to.equal(10);
  });
});
