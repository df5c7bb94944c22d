import { assertNoLeaks, baseline, waitFor } from '@kitts/testkit';
import { expect } from 'chai';
import {
  Endpointer,
  FixedInstancer,
  type Instance,
  InstanceBroadcaster,
  type InstancerEvent,
  MemoryRegistry,
} from '../src/index.js';

const inst = (id: string, extra: Partial<Instance> = {}): Instance => ({ id, address: `${id}:80`, ...extra });
const idsOf = (e: InstancerEvent | undefined) => e?.instances.map((i) => i.id);

describe('InstanceBroadcaster', () => {
  it('delivers the current state at once, sorted', () => {
    const b = new InstanceBroadcaster();
    b.update([inst('c'), inst('a'), inst('b')]);
    let have: InstancerEvent | undefined;
    b.subscribe((e) => (have = e));
    expect(idsOf(have)).to.deep.equal(['a', 'b', 'c']);
  });

  it('gives subscribers independent copies', () => {
    const b = new InstanceBroadcaster();
    b.update([inst('a'), inst('b')]);
    const seen: Instance[][] = [];
    b.subscribe((e) => seen.push(e.instances as Instance[]));
    b.subscribe((e) => seen.push(e.instances as Instance[]));
    seen[0]!.pop();
    expect(seen[1]!.map((i) => i.id)).to.deep.equal(['a', 'b']);
    let late: InstancerEvent | undefined;
    b.subscribe((e) => (late = e));
    expect(idsOf(late)).to.deep.equal(['a', 'b']);
  });

  it('does not deliver an event equal to the current state', () => {
    const b = new InstanceBroadcaster();
    const events: InstancerEvent[] = [];
    b.subscribe((e) => events.push(e));
    b.update([inst('a')]);
    b.update([inst('a')]);
    b.fail(new Error('x'));
    b.fail(new Error('x'));
    b.update([inst('a')]);
    expect(events.map((e) => [idsOf(e), e.error?.message])).to.deep.equal([
      [[], undefined],
      [['a'], undefined],
      [['a'], 'x'],
      [['a'], undefined],
    ]);
  });

  it('unsubscribe stops delivery', () => {
    const b = new InstanceBroadcaster();
    let n = 0;
    const off = b.subscribe(() => n++);
    b.update([inst('a')]);
    off();
    b.update([inst('b')]);
    expect(n).to.equal(2);
  });

  it('isolates a throwing listener from the others', () => {
    const b = new InstanceBroadcaster();
    const errors: unknown[] = [];
    const b2 = new InstanceBroadcaster({
      logger: { debug() {}, info() {}, warn() {}, error: (x) => errors.push(x) },
    });
    for (const bc of [b, b2]) {
      let got = 0;
      bc.subscribe(() => {
        throw new Error('listener bug');
      });
      bc.subscribe(() => got++);
      bc.update([inst('a')]);
      expect(got).to.equal(2);
    }
    expect(errors).to.have.length(2);
  });
});

describe('FixedInstancer', () => {
  it('accepts Instances and plain host:port strings', async () => {
    const f = new FixedInstancer(['10.0.0.2:80', inst('a'), '10.0.0.1:80']);
    let have: InstancerEvent | undefined;
    f.subscribe((e) => (have = e));
    expect(idsOf(have)).to.deep.equal(['10.0.0.1:80', '10.0.0.2:80', 'a']);
    expect(() => new FixedInstancer([' '])).to.throw('must not be empty');
    await f.close();
  });
});

describe('MemoryRegistry', () => {
  it('registers, filters by tags and health, and deregisters', async () => {
    const reg = new MemoryRegistry();
    const all = reg.instancer('comments');
    const v2 = reg.instancer('comments', { tags: ['api', 'v2'] });
    const any = reg.instancer('comments', { passingOnly: false });
    const last = {
      all: undefined as InstancerEvent | undefined,
      v2: undefined as InstancerEvent | undefined,
      any: undefined as InstancerEvent | undefined,
    };
    all.subscribe((e) => (last.all = e));
    v2.subscribe((e) => (last.v2 = e));
    any.subscribe((e) => (last.any = e));
    const r1 = reg.registrar('comments', inst('c1', { tags: ['api', 'v1'] }));
    const r2 = reg.registrar('comments', inst('c2', { tags: ['api', 'v2'] }));
    await r1.register();
    await r2.register();
    expect(idsOf(last.all)).to.deep.equal(['c1', 'c2']);
    expect(idsOf(last.v2)).to.deep.equal(['c2']);
    r2.setHealth('critical');
    expect(idsOf(last.all)).to.deep.equal(['c1']);
    expect(idsOf(last.any)).to.deep.equal(['c1', 'c2']);
    r2.setHealth('passing');
    await r1.deregister();
    expect(idsOf(last.all)).to.deep.equal(['c2']);
    for (const i of [all, v2, any]) await i.close();
    reg.close();
  });

  it('removes an instance whose heartbeats stop after its ttl, keeps one that heartbeats', async () => {
    const base = await baseline();
    const reg = new MemoryRegistry();
    const instancer = reg.instancer('svc');
    let last: InstancerEvent | undefined;
    instancer.subscribe((e) => (last = e));
    const alive = reg.registrar('svc', inst('alive'), { ttl: 60 });
    const crashed = reg.registrar('svc', inst('crashed'), { ttl: 60 });
    await alive.register();
    await crashed.register();
    expect(idsOf(last)).to.deep.equal(['alive', 'crashed']);
    crashed.stopHeartbeats();
    await waitFor(() => idsOf(last)?.length === 1, { what: 'the crashed instance to expire' });
    expect(idsOf(last)).to.deep.equal(['alive']);
    // Well past several ttls, the heartbeating one is still there.
    await new Promise((r) => setTimeout(r, 200));
    expect(idsOf(last)).to.deep.equal(['alive']);
    await alive.deregister();
    await instancer.close();
    reg.close();
    await assertNoLeaks(base);
  });

  it('an outage keeps the last set, hides changes, and recovery shows the current state', async () => {
    const reg = new MemoryRegistry();
    const instancer = reg.instancer('svc');
    const e = new Endpointer(instancer, (i) => async () => i.id);
    await reg.registrar('svc', inst('a')).register();
    const events: InstancerEvent[] = [];
    instancer.subscribe((ev) => events.push(ev));
    reg.fail(new Error('registry unreachable'));
    await reg.registrar('svc', inst('b')).register();
    expect(events.at(-1)?.error?.message).to.equal('registry unreachable');
    expect(e.current().entries.map((x) => x.instance.id)).to.deep.equal(['a']);
    reg.recover();
    expect(events.at(-1)?.error).to.equal(undefined);
    expect(e.current().entries.map((x) => x.instance.id)).to.deep.equal(['a', 'b']);
    await e.close();
    await instancer.close();
    reg.close();
  });

  it('rejects nonsense ttl values', () => {
    const reg = new MemoryRegistry();
    expect(() => reg.registrar('s', inst('a'), { ttl: -1 })).to.throw('ttl');
    expect(() => reg.registrar('s', inst('a'), { ttl: 10, heartbeat: 0 })).to.throw('heartbeat');
  });
});
