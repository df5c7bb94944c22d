import { MemoryRegistry } from '@kitts/sd';
import { assertNoLeaks, baseline } from '@kitts/testkit';
import { expect } from 'chai';
import { main } from '../src/main.js';
import { weightsFromMeta } from '../src/weights.js';

describe('example: mall-weighted', function () {
  this.timeout(30_000);

  it('spreads calls by the weights in metadata, retries around a failing instance, drops one in maintenance, limits the front door and exports it all', async () => {
    const base = await baseline();
    const lines: string[] = [];
    const have = await main({ out: (l) => lines.push(l) });

    // Smooth WRR over {5, 3, 2}: exactly the weights over 100 calls, in nginx's order.
    expect(have.weighted.counts).to.deep.equal({ 'product-a': 50, 'product-b': 30, 'product-c': 20 });
    expect(have.weighted.first.map((n) => n.slice(-1)).join('')).to.equal('abcaabacba');

    // product-b answering 503: every call answered, none by b, its failures retried.
    expect(have.retries.answered).to.equal(20);
    expect(have.retries.servedBy).to.not.include('product-b');
    expect(have.retries.failedOnB).to.be.within(1, 20);

    // product-c failing its health check: out of rotation, the others share 5:3 exactly.
    expect(have.maintenance.rotation).to.deep.equal(['product-a', 'product-b']);
    expect(have.maintenance.counts).to.deep.equal({ 'product-a': 10, 'product-b': 6, 'product-c': 0 });
    expect(have.maintenance.rejoined).to.equal(true);

    // Front door: a burst of 10 admitted (a token may refill while 30 requests arrive), the rest 429.
    expect(have.rateLimit.ok).to.be.within(10, 12);
    expect(have.rateLimit.ok + have.rateLimit.limited).to.equal(30);
    expect(Number(have.rateLimit.retryAfter)).to.be.greaterThan(0);

    // /metrics counts per instance exactly what each instance says it answered.
    for (const [name, n] of Object.entries(have.answered)) {
      expect(have.metrics).to.include(
        `kitts_requests_total{endpoint="product.get",instance="${name}",outcome="ok",code=""} ${n}`,
      );
    }
    expect(have.metrics).to.include(
      `kitts_ratelimit_rejections_total{limiter="mall.products",reason="rate"} ${have.rateLimit.limited}`,
    );
    expect(have.metrics).to.include('kitts_sd_instances{service="product"} 3');
    expect(lines[0]).to.equal(
      'mall-weighted: 3 instances of "product" registered in memory://, weights in metadata',
    );
    await assertNoLeaks(base, { settleMs: 200 });
  });

  it('weightsFromMeta reads meta.weight into weight, leaves a bad one alone and passes registry errors on', async () => {
    const registry = new MemoryRegistry();
    await registry.registrar('p', { id: 'a', address: 'a:1', meta: { weight: '5' } }).register();
    await registry
      .registrar('p', { id: 'b', address: 'b:1', weight: 2, meta: { weight: 'heavy' } })
      .register();
    await registry.registrar('p', { id: 'c', address: 'c:1' }).register();
    const warnings: unknown[] = [];
    const logger = { debug() {}, info() {}, warn: (o: unknown) => warnings.push(o), error() {} };
    const instancer = weightsFromMeta(registry.instancer('p'), { logger });
    const events: { weights: (number | undefined)[]; error?: string }[] = [];
    instancer.subscribe((e) => {
      events.push({
        weights: e.instances.map((i) => i.weight),
        ...(e.error ? { error: e.error.message } : {}),
      });
    });
    registry.fail(new Error('registry down'), 'p');
    await instancer.close();
    registry.close();
    expect(events).to.deep.equal([
      { weights: [5, 2, undefined] },
      { weights: [5, 2, undefined], error: 'registry down' },
    ]);
    expect(warnings).to.deep.equal([{ id: 'b', weight: 'heavy' }]);
  });
});
