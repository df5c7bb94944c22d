import { assertNoLeaks, baseline, startEtcd } from '@kitts/testkit';
import { expect } from 'chai';
import { main, type Report } from '../src/main.js';

function assertOutcome(r: Report, ids: number) {
  // Consistent hashing: the same id always lands on the same instance, from a warm cache.
  expect(r.sameInstance).to.equal(ids);
  expect(r.cacheHits).to.equal(ids);
  // Every instance got a share of the ids.
  expect(new Set(r.placement.values()).size).to.equal(3);
  // When one of three leaves, only its ids move: about a third.
  expect(r.moved.allFromLeaver).to.equal(true);
  expect(r.moved.ids.length).to.be.greaterThan(0);
  expect(r.moved.share).to.be.within(0.1, 0.6);
  // A sick instance: no page load fails, its breaker opens, and then it sees no traffic.
  expect(r.sick.failedCalls).to.equal(0);
  expect(r.sick.breakerEvents.map((e) => `${e.instance}:${e.change.to.value}`)).to.include('comments-3:open');
  expect(r.sick.attemptsAfterOpen).to.equal(0);
}

describe('example: goods-comments', function () {
  this.timeout(30_000);

  it('on the embedded registry: same id same instance, only the leaver ids move, the sick one is routed around', async () => {
    const base = await baseline();
    const lines: string[] = [];
    const r = await main({ ids: 60, out: (l) => lines.push(l) });
    assertOutcome(r, 60);
    const text = lines.join('\n');
    expect(text).to.include('Which instance served each id');
    expect(text).to.match(/Same ids again: 60\/60 on the same instance, 60\/60 cache hits/);
    expect(text).to.include('breaker comments-3: closed -> open');
    await assertNoLeaks(base, { settleMs: 200 });
  });

  describe('on a real etcd', () => {
    let etcd: Awaited<ReturnType<typeof startEtcd>> | undefined;
    before(async () => {
      etcd = await startEtcd();
    });
    after(async () => etcd?.stop());

    it('gives the same outcome with --registry etcd://', async () => {
      const r = await main({ ids: 40, registry: `etcd://127.0.0.1:${etcd!.port}/services`, out: () => {} });
      assertOutcome(r, 40);
      // Deregistration revoked the leases: nothing is left under the prefix.
      expect((await etcd!.etcdctl('get', '--prefix', '/services/comments/', '--keys-only')).trim()).to.equal(
        '',
      );
    });
  });
});
