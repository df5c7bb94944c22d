import { assertNoLeaks, baseline, type EtcdServer, startEtcd } from '@kitts/testkit';
import { expect } from 'chai';
import { type BookGrpcResult, main } from '../src/main.js';

function expectBookGrpcOutcome(have: BookGrpcResult): void {
  expect(have.instances.map((i) => i.id)).to.deep.equal(['book-1', 'book-2', 'book-3']);

  // Healthy: one attempt per call, and the instances take turns in a fixed order.
  const turns = have.roundRobin.map((c) => c.answeredBy);
  const why = JSON.stringify(have.roundRobin.map((c) => c.attempts));
  for (const c of have.roundRobin) expect(c.attempts, why).to.have.length(1);
  expect(new Set(turns).size, why).to.equal(3);
  for (let i = 0; i + 3 < turns.length; i++) expect(turns[i + 3]).to.equal(turns[i]);
  expect(have.roundRobin.map((c) => c.answer)).to.deep.equal([
    '"The Go Programming Language"',
    '"Designing Data-Intensive Applications"',
    '3 books: 1, 2, 3',
    '"Site Reliability Engineering"',
    '"Release It!"',
    '3 books: 4, 5, 6',
  ]);

  // book-2 failing: every call still answers, never from book-2, and the calls that
  // met book-2 first were retried on another instance.
  for (const c of have.withFailure) {
    expect(c.answeredBy).to.be.oneOf(['book-1', 'book-3']);
    expect(c.attempts.at(-1)!.outcome).to.equal('OK');
    expect(c.attempts.length).to.be.within(1, 3);
  }
  const retried = have.withFailure.filter((c) => c.attempts.length > 1);
  expect(retried.length).to.be.at.least(2);
  for (const c of retried)
    expect(c.attempts[0]).to.deep.include({ instance: 'book-2', outcome: 'UNAVAILABLE' });

  // NOT_FOUND is the answer: one attempt, no retry.
  expect(have.notFound.attempts).to.have.length(1);
  expect(have.notFound.attempts[0]!.outcome).to.equal('NOT_FOUND');
  expect(have.notFound.answer).to.equal('NOT_FOUND: no book with id 99');
}

describe('example: book-grpc', function () {
  this.timeout(30_000);

  it('alternates instances in the memory registry, retries around a failing one, and leaves nothing running', async () => {
    const base = await baseline();
    const lines: string[] = [];
    const have = await main({ out: (l) => lines.push(l) });
    expectBookGrpcOutcome(have);
    expect(lines[0]).to.equal('book-grpc: 3 instances of "book" registered in memory://');
    await assertNoLeaks(base, { settleMs: 200 });
  });

  describe('with --registry etcd://', () => {
    let etcd: EtcdServer;
    before(async () => {
      etcd = await startEtcd();
    });
    after(async () => {
      await etcd?.stop();
    });

    it('registers under /services/book/ in a real etcd, and the keys are gone once it ends', async () => {
      const base = await baseline();
      const url = `etcd://127.0.0.1:${etcd.port}/services`;
      const lines: string[] = [];
      const have = await main({ registry: url, out: (l) => lines.push(l) });
      expectBookGrpcOutcome(have);
      expect(lines.some((l) => l.includes('etcd key /services/book/book-2'))).to.equal(true);
      // Deregistering revoked each lease: nothing is left under the prefix.
      expect(await etcd.etcdctl('get', '--prefix', '/services/book/', '--keys-only')).to.equal('');
      await assertNoLeaks(base, { settleMs: 300 });
    });
  });
});
