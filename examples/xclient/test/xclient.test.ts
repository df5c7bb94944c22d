import { existsSync } from 'node:fs';
import { assertNoLeaks, baseline } from '@kitts/testkit';
import { expect } from 'chai';
import { main } from '../src/main.js';
import { parseXAddress } from '../src/xfactory.js';

describe('example: xclient', function () {
  this.timeout(20_000);

  it('calls a fixed protocol@address list at random, in turn and all at once, and a deadline cancels the slow one on its server', async () => {
    const base = await baseline();
    const lines: string[] = [];
    const have = await main({ out: (l) => lines.push(l) });

    const [tcp, http, unix] = have.instances as [string, string, string];
    expect(tcp).to.match(/^tcp@127\.0\.0\.1:\d+$/);
    expect(http).to.match(/^http@127\.0\.0\.1:\d+$/);
    expect(unix).to.match(/^unix@\/.+\.sock$/);

    // Random: every answer came from a listed instance.
    for (const by of have.random) expect(have.instances).to.include(by);
    // Round robin: all three, in a fixed cycle.
    expect(new Set(have.roundRobin).size).to.equal(3);
    for (let i = 0; i + 3 < 6; i++) expect(have.roundRobin[i + 3]).to.equal(have.roundRobin[i]);

    // Broadcast with everyone fast: three answers, one per instance, in id order.
    expect(have.broadcast.map((r) => r.c)).to.deep.equal([42, 42, 42]);
    expect(have.broadcast.map((r) => r.served_by)).to.deep.equal([...have.instances].sort());

    // The slow broadcast ends at its deadline, long before the slow instance would have.
    const slow = have.slowBroadcast;
    expect(slow.error).to.equal('DEADLINE_EXCEEDED');
    expect(slow.ms).to.be.below(1500);
    const outcome = Object.fromEntries(slow.perInstance.map((o) => [o.instance, o.outcome]));
    expect(outcome).to.have.all.keys(tcp, http, unix);
    expect([outcome[tcp], outcome[http]]).to.deep.equal([42, 42]);
    // Its context ended by the deadline it shares with the broadcast, or by the broadcast's
    // cancel right after: which one a call reports first is a race, and either is right.
    expect(outcome[unix]).to.be.oneOf(['CANCELED', 'DEADLINE_EXCEEDED']);
    // ...and the server saw its context end and stopped, instead of finishing the 2 s.
    expect(slow.server?.instance).to.equal(unix);
    expect(slow.server?.code).to.be.oneOf(['CANCELED', 'DEADLINE_EXCEEDED']);
    expect(slow.server!.afterMs).to.be.below(1500);
    expect(lines.at(-1)).to.match(/^ {2}server {2}unix@.+ stopped Mul\(6, 7\) after \d+ ms/);

    // The unix socket file is removed with its server.
    expect(existsSync(unix.slice('unix@'.length))).to.equal(false);
    await assertNoLeaks(base, { settleMs: 200 });
  });

  it('names what is wrong with an address that is not protocol@address', () => {
    expect(parseXAddress('unix@/tmp/a.sock')).to.deep.equal({ protocol: 'unix', address: '/tmp/a.sock' });
    expect(() => parseXAddress('127.0.0.1:9001')).to.throw(TypeError, /not protocol@address/);
    expect(() => parseXAddress('quic@127.0.0.1:9001')).to.throw(TypeError, /not protocol@address/);
    expect(() => parseXAddress('unix@x.sock')).to.throw(TypeError, /absolute path/);
  });
});
