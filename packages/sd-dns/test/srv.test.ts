import type { InstancerEvent } from '@kitts/sd';
import { expect } from 'chai';
import fc from 'fast-check';
import { dnsSrvInstancer, groupInstances, priorityGroups, type SrvRecord } from '../src/index.js';

const srv = (name: string, port: number, priority = 0, weight = 0): SrvRecord => ({
  name,
  port,
  priority,
  weight,
});

/** A resolver whose answers the test sets, counting lookups (go-kit's TestRefresh fake). */
function fakeResolver() {
  const state = { lookups: 0, records: [] as SrvRecord[], error: undefined as Error | undefined };
  return {
    state,
    resolver: {
      async resolveSrv() {
        state.lookups++;
        if (state.error) throw state.error;
        return state.records;
      },
    },
  };
}

describe('SRV records to instances', () => {
  it('publish only the lowest priority that has records with a port, for any answer', () => {
    const record = fc.record({
      name: fc.constantFrom('a.test', 'b.test.', 'c.test'),
      port: fc.constantFrom(0, 80, 443),
      priority: fc.integer({ min: 0, max: 3 }),
      weight: fc.integer({ min: 0, max: 10 }),
    });
    fc.assert(
      fc.property(fc.array(record, { maxLength: 12 }), (answer) => {
        const { groups, portZero } = priorityGroups(answer);
        const usable = answer.filter((r) => r.port !== 0);
        expect(portZero).to.equal(answer.length - usable.length);
        if (usable.length === 0) {
          expect(groups).to.deep.equal([]);
          return;
        }
        const lowest = Math.min(...usable.map((r) => r.priority));
        expect(groups[0]).to.deep.equal(usable.filter((r) => r.priority === lowest));
        const instances = groupInstances(groups[0]!);
        expect(instances).to.have.length(groups[0]!.length);
        const weighted = groups[0]!.some((r) => r.weight > 0);
        instances.forEach((inst, i) => {
          const r = groups[0]![i]!;
          expect(inst.address).to.equal(`${r.name.replace(/\.$/, '')}:${r.port}`);
          expect(inst.weight).to.equal(weighted ? r.weight : undefined);
        });
      }),
    );
  });

  it('bracket IPv6 addresses and split a weight among a target addresses', () => {
    const have = groupInstances(
      [srv('t.test.', 80, 1, 6)],
      new Map([['t.test.', ['10.0.0.1', '::1', 'fe80::2']]]),
    );
    expect(have.map((i) => [i.address, i.weight])).to.deep.equal([
      ['10.0.0.1:80', 2],
      ['[::1]:80', 2],
      ['[fe80::2]:80', 2],
    ]);
  });
});

describe('dnsSrvInstancer', () => {
  it('looks up at once and again on refresh() (go-kit TestRefresh)', async () => {
    const { state, resolver } = fakeResolver();
    const instancer = dnsSrvInstancer('some.service.internal', { resolver, interval: 60_000 });
    const events: InstancerEvent[] = [];
    instancer.subscribe((e) => events.push(e));
    await instancer.ready;
    expect(state.lookups).to.equal(1);
    expect(events.at(-1)).to.deep.equal({ instances: [] });

    state.records = [srv('1.0.0.1', 1001), srv('1.0.0.2', 1002), srv('1.0.0.3', 1003)];
    await instancer.refresh();
    expect(state.lookups).to.equal(2);
    expect(events.at(-1)!.instances).to.have.length(3);
    await instancer.close();
    await instancer.refresh();
    expect(state.lookups).to.equal(2); // closed: no more lookups
  });

  it('skips a port-0 record but keeps the others (go-kit issue 892 failed them all)', async () => {
    const { state, resolver } = fakeResolver();
    state.records = [srv('1.0.0.1', 80), srv('1.0.0.2', 0), srv('1.0.0.3', 80)];
    const instancer = dnsSrvInstancer('name', { resolver });
    let have: InstancerEvent | undefined;
    instancer.subscribe((e) => (have = e));
    await instancer.ready;
    expect(have!.error).to.equal(undefined);
    expect(have!.instances.map((i) => i.address)).to.deep.equal(['1.0.0.1:80', '1.0.0.3:80']);
    await instancer.close();
  });

  it('reports a failed lookup as an error event and keeps the last set; a good one clears it', async () => {
    const { state, resolver } = fakeResolver();
    state.records = [srv('a.test', 80)];
    const instancer = dnsSrvInstancer('name', { resolver });
    const events: InstancerEvent[] = [];
    instancer.subscribe((e) => events.push(e));
    await instancer.ready;
    state.error = Object.assign(new Error('queryTxt ETIMEOUT'), { code: 'ETIMEOUT' });
    await instancer.refresh();
    expect(events.at(-1)!.error!.message).to.equal('kitts/sd-dns: looking up name failed (ETIMEOUT)');
    expect(events.at(-1)!.instances.map((i) => i.id)).to.deep.equal(['a.test:80']);
    await instancer.refresh();
    expect(events).to.have.length(3); // the same failure again is not a new event
    state.error = undefined;
    await instancer.refresh();
    expect(events.at(-1)).to.deep.equal({ instances: events[1]!.instances });
    await instancer.close();
  });

  it('rejects bad arguments with errors that name the problem', () => {
    const { resolver } = fakeResolver();
    expect(() => dnsSrvInstancer('', { resolver })).to.throw(TypeError, /DNS name/);
    expect(() => dnsSrvInstancer('a b', { resolver })).to.throw(TypeError, /DNS name/);
    expect(() => dnsSrvInstancer('n', { resolver, interval: 0 })).to.throw(RangeError, /interval/);
    expect(() => dnsSrvInstancer('n', { resolver, resolveTargets: 'v4' as never })).to.throw(
      TypeError,
      /resolveTargets/,
    );
    expect(() => dnsSrvInstancer('n', { resolver, resolveTargets: 'ipv4' })).to.throw(TypeError, /resolve4/);
    expect(() => dnsSrvInstancer('n', { resolver, notFound: 'ignore' as never })).to.throw(
      TypeError,
      /notFound/,
    );
    expect(() => dnsSrvInstancer('n', { resolver: {} as never })).to.throw(TypeError, /resolveSrv/);
  });
});
