import {
  background,
  CircuitOpenError,
  DeadlineExceededError,
  type Endpoint,
  type Failer,
  RateLimitedError,
} from '@kitts/endpoint';
import { expect } from 'chai';
import fc from 'fast-check';
import { Counter, Registry } from 'prom-client';
import { instrument } from '../src/index.js';
import { parse, value } from './scrape.js';

const ctx = background();

/** A response that may carry a business error, as go-kit's Failer. */
class Answer implements Failer {
  constructor(readonly err?: Error) {}
  failed() {
    return this.err;
  }
}
class NotFound extends Error {
  readonly code = 'NOT_FOUND';
}

/** An endpoint whose behaviour each request chooses. */
type Behaviour = 'ok' | 'fail' | 'business' | 'open' | 'limited';
const leaf: Endpoint<Behaviour, Answer> = async (_ctx, b) => {
  switch (b) {
    case 'ok':
      return new Answer();
    case 'business':
      return new Answer(new NotFound('no such comment'));
    case 'fail':
      throw new DeadlineExceededError();
    case 'open':
      throw new CircuitOpenError();
    case 'limited':
      throw new RateLimitedError();
  }
};

async function settled(p: Promise<unknown>) {
  return p.then(
    () => 'resolved',
    () => 'rejected',
  );
}

describe('instrument', () => {
  it('counts successes, failures, rejections and business errors apart, by code, in a real registry', async () => {
    const registry = new Registry();
    const e = instrument({ name: 'comments.get', registry })(leaf);
    for (const b of ['ok', 'ok', 'ok', 'business', 'fail', 'fail', 'open', 'limited'] as const)
      await settled(e(ctx, b));

    const have = parse(await registry.metrics());
    const c = (outcome: string, code: string) =>
      value(have, 'kitts_requests_total', { endpoint: 'comments.get', outcome, code });
    expect(c('ok', '')).to.equal(3);
    expect(c('business_error', 'NOT_FOUND')).to.equal(1);
    expect(c('error', 'DEADLINE_EXCEEDED')).to.equal(2);
    expect(c('rejected', 'CIRCUIT_OPEN')).to.equal(1);
    expect(c('rejected', 'RATE_LIMITED')).to.equal(1);
    const count = (outcome: string) =>
      value(have, 'kitts_request_duration_seconds_count', { endpoint: 'comments.get', outcome });
    expect([count('ok'), count('business_error'), count('error'), count('rejected')]).to.deep.equal([
      3, 1, 2, 2,
    ]);
    expect(value(have, 'kitts_requests_in_flight', { endpoint: 'comments.get' })).to.equal(0);
  });

  it('passes responses and errors through unchanged', async () => {
    const e = instrument({ name: 'x', registry: new Registry() })(leaf);
    const res = await e(ctx, 'business');
    expect(res.failed()).to.be.instanceOf(NotFound);
    const err = await e(ctx, 'open').catch((x: unknown) => x);
    expect(err).to.be.instanceOf(CircuitOpenError);
  });

  it('puts each latency in its bucket by the injected clock, with sum and count', async () => {
    const registry = new Registry();
    let t = 0;
    const durations = [0.4, 3, 7, 30, 20_000]; // ms
    let i = 0;
    const timed: Endpoint<unknown, string> = async () => {
      t += durations[i++]!;
      return 'ok';
    };
    const e = instrument({ name: 'timed', registry, now: () => t, buckets: [0.001, 0.01, 0.1] })(timed);
    for (let n = 0; n < durations.length; n++) await e(ctx, n);

    const have = parse(await registry.metrics());
    const b = (le: string) =>
      value(have, 'kitts_request_duration_seconds_bucket', { endpoint: 'timed', outcome: 'ok', le });
    // 0.4 ms <= 1 ms; 3 and 7 ms <= 10 ms; 30 ms <= 100 ms; 20 s only in +Inf. Cumulative.
    expect([b('0.001'), b('0.01'), b('0.1'), b('+Inf')]).to.deep.equal([1, 3, 4, 5]);
    const sum = value(have, 'kitts_request_duration_seconds_sum', { endpoint: 'timed', outcome: 'ok' })!;
    expect(sum).to.be.closeTo(20.0404, 1e-9);

    // The JSON export (what prom-client's cluster aggregator reads) carries the same numbers.
    const json = await registry.getMetricsAsJSON();
    const hist = json.find((m) => m.name === 'kitts_request_duration_seconds')!;
    const inf = hist.values.find(
      (v) => (v as { metricName?: string }).metricName?.endsWith('_bucket') && v.labels.le === '+Inf',
    );
    expect(inf?.value).to.equal(5);
    expect(inf?.labels.endpoint).to.equal('timed');
  });

  it('shows calls in flight while they run', async () => {
    const registry = new Registry();
    let release!: () => void;
    const gate = new Promise<void>((r) => (release = r));
    const slow: Endpoint<unknown, string> = async () => {
      await gate;
      return 'done';
    };
    const e = instrument({ name: 'slow', registry })(slow);
    const calls = [e(ctx, 1), e(ctx, 2)];
    expect(value(parse(await registry.metrics()), 'kitts_requests_in_flight', { endpoint: 'slow' })).to.equal(
      2,
    );
    release();
    await Promise.all(calls);
    expect(value(parse(await registry.metrics()), 'kitts_requests_in_flight', { endpoint: 'slow' })).to.equal(
      0,
    );
  });

  it('shares series between instruments of one name, keeps constant labels, and adds across scrapes', async () => {
    const registry = new Registry();
    const labels = { service: 'comments' };
    const a = instrument({ name: 'get', registry, labels })(leaf);
    const b = instrument({ name: 'get', registry, labels })(leaf);
    await a(ctx, 'ok');
    await registry.metrics(); // a scrape flushes pending counts; the next one must still include them
    await b(ctx, 'ok');
    const have = parse(await registry.metrics());
    expect(
      value(have, 'kitts_requests_total', { endpoint: 'get', service: 'comments', outcome: 'ok', code: '' }),
    ).to.equal(2);
  });

  it('starts from zero after registry.resetMetrics(), and re-registers after registry.clear()', async () => {
    const registry = new Registry();
    const e = instrument({ name: 'r', registry })(leaf);
    await e(ctx, 'ok');
    registry.resetMetrics();
    await e(ctx, 'fail').catch(() => {});
    let have = parse(await registry.metrics());
    expect(value(have, 'kitts_requests_total', { endpoint: 'r', outcome: 'ok', code: '' })).to.equal(
      undefined,
    );
    expect(value(have, 'kitts_request_duration_seconds_count', { endpoint: 'r', outcome: 'ok' })).to.equal(0);
    expect(
      value(have, 'kitts_requests_total', { endpoint: 'r', outcome: 'error', code: 'DEADLINE_EXCEEDED' }),
    ).to.equal(1);

    registry.clear();
    const again = instrument({ name: 'r', registry })(leaf);
    await again(ctx, 'ok');
    have = parse(await registry.metrics());
    expect(value(have, 'kitts_requests_total', { endpoint: 'r', outcome: 'ok', code: '' })).to.equal(1);
  });

  it('uses a custom code function and prefix', async () => {
    const registry = new Registry();
    const e = instrument({ name: 'c', registry, prefix: 'app_', code: () => 'ANY' })(leaf);
    await e(ctx, 'fail').catch(() => {});
    const have = parse(await registry.metrics());
    expect(value(have, 'app_requests_total', { endpoint: 'c', outcome: 'error', code: 'ANY' })).to.equal(1);
  });

  it('names an error code, or the class name of an error without one', async () => {
    const registry = new Registry();
    const e = instrument({ name: 't', registry })(async () => {
      throw new TypeError('boom');
    });
    await e(ctx, 1).catch(() => {});
    const have = parse(await registry.metrics());
    expect(
      value(have, 'kitts_requests_total', { endpoint: 't', outcome: 'error', code: 'TypeError' }),
    ).to.equal(1);
  });

  it('rejects bad options with errors that name the problem', () => {
    const registry = new Registry();
    expect(() => instrument({ name: '', registry })).to.throw(/name must be a non-empty string/);
    expect(() => instrument({ name: 'x', registry, labels: { 'bad-name': 'v' } })).to.throw(
      /"bad-name" is not a valid/,
    );
    expect(() => instrument({ name: 'x', registry, labels: { outcome: 'v' } })).to.throw(
      /set by kitts itself/,
    );
    expect(() => instrument({ name: 'x', registry, prefix: '9x' })).to.throw(/prefix "9x"/);
    expect(() => instrument({ name: 'x', registry, buckets: [0.1, 0.05] })).to.throw(/buckets must increase/);
    expect(() => instrument({ name: 'x', registry, buckets: [] })).to.throw(/non-empty array/);
    instrument({ name: 'x', registry, labels: { service: 's' } });
    expect(() => instrument({ name: 'y', registry, labels: { zone: 'z' } })).to.throw(
      /labels \[zone\] differ from \[service\]/,
    );
    expect(() => instrument({ name: 'y', registry, labels: { service: 's' }, buckets: [1] })).to.throw(
      /buckets \[1\] differ/,
    );
    const other = new Registry();
    new Counter({ name: 'kitts_requests_total', help: 'theirs', registers: [other] });
    expect(() => instrument({ name: 'x', registry: other })).to.throw(
      /cannot register the kitts_requests_\* metrics/,
    );
  });

  it('keeps totals equal to the calls made, whatever their mix (property)', async () => {
    const behaviour = fc.constantFrom<Behaviour>('ok', 'fail', 'business', 'open', 'limited');
    await fc.assert(
      fc.asyncProperty(
        fc.array(behaviour, { maxLength: 40 }),
        fc.integer({ min: 0, max: 3 }),
        async (calls, scrapes) => {
          const registry = new Registry();
          const e = instrument({ name: 'p', registry })(leaf);
          for (let i = 0; i < calls.length; i++) {
            await settled(e(ctx, calls[i]!));
            if (scrapes > 0 && i % (scrapes + 1) === 0) await registry.metrics();
          }
          const have = parse(await registry.metrics());
          const total = [...have]
            .filter(([k]) => k.startsWith('kitts_requests_total{'))
            .reduce((s, [, v]) => s + v, 0);
          const timed = [...have]
            .filter(([k]) => k.startsWith('kitts_request_duration_seconds_count{'))
            .reduce((s, [, v]) => s + v, 0);
          const want = (b: Behaviour) => calls.filter((c) => c === b).length;
          const ok = value(have, 'kitts_requests_total', { endpoint: 'p', outcome: 'ok', code: '' }) ?? 0;
          return total === calls.length && timed === calls.length && ok === want('ok');
        },
      ),
      { numRuns: 60 },
    );
  });
});
