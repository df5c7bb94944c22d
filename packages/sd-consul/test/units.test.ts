import { expect } from 'chai';
import fc from 'fast-check';
import { backoffDelay, parseDuration, TokenBucket, toInstances } from '../src/index.js';

describe('parseDuration (Go duration strings, as Consul takes them)', () => {
  it('reads single and compound units', () => {
    const cases: [string | number, number][] = [
      ['10s', 10_000],
      ['1m30s', 90_000],
      ['500ms', 500],
      ['1.5h', 5_400_000],
      ['250us', 0.25],
      ['0', 0],
      [' 2s ', 2000],
      [1234, 1234],
    ];
    for (const [have, want] of cases) expect(parseDuration(have), String(have)).to.equal(want);
  });

  it('rejects what Go would reject, naming the field', () => {
    for (const bad of ['', '10', 's', '1x', '-1s', '1s2', 'ten seconds']) {
      expect(() => parseDuration(bad, 'check.ttl'), bad).to.throw(TypeError, /check\.ttl must be a duration/);
    }
    expect(() => parseDuration(-1, 'wait')).to.throw(TypeError, /wait must be a non-negative number/);
  });

  it('adds up any sequence of parts', () => {
    const unit = fc.constantFrom(['h', 3_600_000], ['m', 60_000], ['s', 1000], ['ms', 1]);
    fc.assert(
      fc.property(fc.array(fc.tuple(fc.nat(1000), unit), { minLength: 1, maxLength: 4 }), (parts) => {
        const text = parts.map(([n, [u]]) => `${n}${u}`).join('');
        const want = parts.reduce((sum, [n, [, ms]]) => sum + n * (ms as number), 0);
        expect(parseDuration(text)).to.equal(want);
      }),
    );
  });
});

describe('backoffDelay', () => {
  it('is exponential, capped, and never below half of the step (equal jitter)', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 60 }),
        fc.integer({ min: 1, max: 1000 }),
        fc.integer({ min: 1, max: 100_000 }),
        fc.double({ min: 0, max: 1, maxExcluded: true, noNaN: true }),
        (attempt, initial, max, r) => {
          const step = Math.min(max, initial * 2 ** (attempt - 1));
          const have = backoffDelay(attempt, { initial, max }, () => r);
          expect(have).to.be.at.least(step / 2);
          expect(have).to.be.at.most(step);
        },
      ),
    );
  });

  it('spreads clients out: different random draws give different delays', () => {
    expect(backoffDelay(3, { initial: 100 }, () => 0)).to.equal(200);
    expect(backoffDelay(3, { initial: 100 }, () => 0.99)).to.be.closeTo(398, 1);
  });
});

describe('TokenBucket', () => {
  it('lets `burst` queries through at once, then one per interval', () => {
    let now = 0;
    const b = new TokenBucket(2, 1000, () => now);
    expect([b.take(), b.take()]).to.deep.equal([0, 0]);
    expect(b.take()).to.equal(1000);
    now = 400;
    expect(b.take()).to.equal(600);
    now = 1000;
    expect(b.take()).to.equal(0);
    now = 10_000; // idle time refills only up to the burst
    expect([b.take(), b.take(), b.take()]).to.deep.equal([0, 0, 1000]);
  });

  it('never blocks with interval 0, and refuses a burst below 1', () => {
    const b = new TokenBucket(1, 0);
    expect([b.take(), b.take(), b.take()]).to.deep.equal([0, 0, 0]);
    expect(() => new TokenBucket(0, 10)).to.throw(TypeError, /burst/);
  });
});

describe('toInstances (health entries to kitts instances)', () => {
  const entry = (svc: object, node = { Node: 'n1', Address: '10.0.0.1' }, checks: object[] = []) => ({
    Node: node,
    Service: { ID: 'a', Service: 's', Port: 80, Tags: [], ...svc },
    Checks: checks,
  });

  it('falls back to the node address when the service has none, and brackets IPv6', () => {
    expect(toInstances([entry({})], [])[0]!.address).to.equal('10.0.0.1:80');
    expect(toInstances([entry({ Address: '2001:db8::1' })], [])[0]!.address).to.equal('[2001:db8::1]:80');
  });

  it('uses Weights.Warning while a check warns, Weights.Passing otherwise', () => {
    const weights = { Weights: { Passing: 10, Warning: 1 } };
    expect(toInstances([entry(weights, undefined, [{ Status: 'passing' }])], [])[0]!.weight).to.equal(10);
    expect(toInstances([entry(weights, undefined, [{ Status: 'warning' }])], [])[0]!.weight).to.equal(1);
  });

  it('keeps Meta, drops entries missing a required tag, and rejects a non-array answer', () => {
    const have = toInstances(
      [entry({ Meta: { az: 'b' }, Tags: ['x', 'y'] }), entry({ ID: 'b', Tags: ['x'] })],
      ['y'],
    );
    expect(have).to.deep.equal([{ id: 'a', address: '10.0.0.1:80', tags: ['x', 'y'], meta: { az: 'b' } }]);
    expect(() => toInstances({ not: 'a list' }, [])).to.throw(TypeError, /JSON array/);
  });
});
