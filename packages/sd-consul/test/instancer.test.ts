import { Endpointer, type Instance, type InstancerEvent } from '@kitts/sd';
import { assertNoLeaks, baseline, waitFor } from '@kitts/testkit';
import { expect } from 'chai';
import type Consul from 'consul';
import { type ConsulInstancer, type ConsulInstancerOptions, consulInstancer } from '../src/index.js';
import type { Fault, RecordedRequest } from './double/consul-double.js';
import { type ConsulTarget, consulTarget, goKitFixture, REAL, uniqueName } from './target.js';

const ids = (e: InstancerEvent | undefined) => e?.instances.map((i) => i.id);

describe('consulInstancer: go-kit fixture', function () {
  this.timeout(REAL ? 30_000 : 10_000);
  let target: ConsulTarget;
  let client: Consul;
  let service: string;
  const prefix = uniqueName('kitts');
  const open: ConsulInstancer[] = [];

  before(async () => {
    target = await consulTarget();
    client = target.client();
    service = uniqueName('search');
    for (const reg of goKitFixture(service, prefix)) await target.catalogRegister(reg);
  });
  afterEach(async () => {
    await Promise.all(open.splice(0).map((i) => i.close()));
  });
  after(async () => {
    await target.catalogDeregister(`${prefix}-app00.local`);
    await target.catalogDeregister(`${prefix}-app01.local`);
    client.destroy();
    await target.close();
  });

  async function first(options: Partial<ConsulInstancerOptions>): Promise<InstancerEvent> {
    const inst = consulInstancer(client, { service, token: target.token, ...options });
    open.push(inst);
    await inst.ready;
    let have: InstancerEvent | undefined;
    inst.subscribe((e) => (have = e))();
    return have!;
  }

  it('("search", [api]) yields the two api instances', async () => {
    const have = await first({ tags: ['api'] });
    expect(have.error).to.equal(undefined);
    expect(ids(have)).to.deep.equal(['search-api-0', 'search-api-1']);
  });

  it('("feed", []) yields no instances and no error', async () => {
    const have = await first({ service: uniqueName('feed') });
    expect(have.error).to.equal(undefined);
    expect(have.instances).to.deep.equal([]);
  });

  it('("search", [api, v2]) yields only search-api-1: every tag must match', async () => {
    const have = await first({ tags: ['api', 'v2'] });
    expect(ids(have)).to.deep.equal(['search-api-1']);
  });

  it('("search", [db]) dials the service address 10.0.0.10:9000, not the node address', async () => {
    const inst = consulInstancer(client, { service, tags: ['db'], token: target.token });
    open.push(inst);
    await inst.ready;
    const endpointer = new Endpointer<unknown, string>(inst, (i: Instance) => async () => i.address);
    const entries = endpointer.current().entries;
    expect(entries).to.have.length(1);
    expect(await entries[0]!.endpoint({} as never, {})).to.equal('10.0.0.10:9000');
    await endpointer.close();
  });

  it('maps node address, port, tags; weight 1 when Consul reports default weights', async () => {
    const have = await first({ tags: ['api'] });
    expect(have.instances[0]).to.deep.include({ id: 'search-api-0', address: '10.0.0.0:8000', weight: 1 });
    expect(have.instances[0]!.tags).to.deep.equal(['api', 'v1']);
  });

  it('sends only the first tag to Consul and filters the rest itself', async function () {
    if (!target.double) this.skip();
    await first({ tags: ['api', 'v2'] });
    const q = target.double!.healthQueries(service).at(-1)!;
    expect(q.query.getAll('tag')).to.deep.equal(['api']);
    expect(q.query.has('passing')).to.equal(true);
  });

  it('reports an error for an unknown datacenter, with no instances', async () => {
    const have = await first({ datacenter: 'no-such-dc' });
    expect(have.error?.message).to.match(/health query for .* failed: 500/);
  });
});

describe('consulInstancer: blocking-query rules (against the double)', function () {
  this.timeout(10_000);
  let target: ConsulTarget;
  let client: Consul;
  let service: string;
  const open: ConsulInstancer[] = [];

  before(async function () {
    if (REAL) this.skip(); // these tests steer the server's index and faults
    target = await consulTarget();
    client = target.client();
  });
  beforeEach(async () => {
    service = uniqueName('search');
    for (const reg of goKitFixture(service, service)) await target.catalogRegister(reg);
    target.double!.hook = undefined;
  });
  afterEach(async () => {
    if (target) target.double!.hook = undefined;
    await Promise.all(open.splice(0).map((i) => i.close()));
  });
  after(async () => {
    client?.destroy();
    await target?.close();
  });

  function start(options: Partial<ConsulInstancerOptions> = {}) {
    const events: InstancerEvent[] = [];
    const inst = consulInstancer(client, {
      service,
      tags: ['api'],
      wait: '150ms',
      rateLimit: { interval: 20 },
      ...options,
    });
    open.push(inst);
    inst.subscribe((e) => events.push(e));
    return { inst, events };
  }
  const queries = () => target.double!.healthQueries(service);
  const indexes = () => queries().map((q) => Number(q.query.get('index') ?? 0));

  it('index 0 -> 100 -> 99: resets to 0, keeps querying and keeps the state', async () => {
    target.double!.state.setIndex(service, 100);
    const { events } = start();
    await waitFor(() => indexes().includes(100), { what: 'a query blocking on index 100' });
    target.double!.state.setIndex(service, 99);
    await waitFor(() => indexes().join().includes('100,0,99'), { what: 'reset to 0, then block on 99' });
    expect(indexes().slice(0, 4)).to.deep.equal([0, 100, 0, 99]);
    expect(events.filter((e) => e.error !== undefined)).to.deep.equal([]);
    expect(events.map(ids)).to.deep.equal([[], ['search-api-0', 'search-api-1']]);
  });

  it('always sends the latest index, and ignores identical answers', async () => {
    const sent: number[] = [];
    let next = 1000;
    target.double!.hook = (r) => {
      if (!r.path.endsWith(service)) return undefined;
      sent.push(next);
      return { index: next++ };
    };
    const { events } = start({ wait: '20ms' });
    await waitFor(() => queries().length >= 6, { what: 'six queries' });
    const have = indexes();
    for (let i = 1; i < 6; i++) expect(have[i], `query ${i}`).to.equal(sent[i - 1]);
    expect(events).to.have.length(2); // the initial empty set, then the set once
  });

  it('answers with index 0 make it block on index 1, never on 0', async () => {
    target.double!.hook = (r) => (r.path.endsWith(service) ? { index: 0 } : undefined);
    start({ wait: '30ms' });
    await waitFor(() => queries().length >= 3, { what: 'three queries' });
    expect(indexes().slice(0, 3)).to.deep.equal([0, 1, 1]);
  });

  it('a response without X-Consul-Index still delivers, and polling is paced by the rate limit', async () => {
    target.double!.hook = (r) => (r.path.endsWith(service) ? { omitIndex: true } : undefined);
    const { inst, events } = start({ rateLimit: { burst: 2, interval: 100 } });
    await inst.ready;
    expect(ids(events.at(-1))).to.deep.equal(['search-api-0', 'search-api-1']);
    const before = queries().length;
    await new Promise((r) => setTimeout(r, 500));
    // A busy loop would have sent hundreds; the bucket allows about 500/100 + burst.
    expect(queries().length - before).to.be.at.most(9);
    expect(indexes().every((i) => i === 0)).to.equal(true);
  });

  it('an error keeps the last set; the next good answer clears the error', async () => {
    const { inst, events } = start({ backoff: { initial: 20, max: 40 } });
    await inst.ready;
    const endpointer = new Endpointer(inst, () => async () => 'ok');
    let fail = true;
    target.double!.hook = (r) =>
      r.path.endsWith(service) && fail ? { status: 500, body: 'rpc error' } : undefined;
    target.double!.state.setIndex(service, 5000); // wake the blocked query
    await waitFor(() => events.some((e) => e.error), { what: 'an error event' });
    const failed = events.find((e) => e.error)!;
    expect(ids(failed)).to.deep.equal(['search-api-0', 'search-api-1']);
    expect(failed.error!.message).to.contain('500 rpc error');
    expect(endpointer.current().entries).to.have.length(2);
    fail = false;
    await waitFor(() => events.at(-1)!.error === undefined, { what: 'recovery' });
    expect(ids(events.at(-1))).to.deep.equal(['search-api-0', 'search-api-1']);
    await endpointer.close();
  });

  it('backs off with jitter while Consul fails: no hot loop', async () => {
    target.double!.hook = (r) =>
      r.path.endsWith(service) ? { status: 503, body: 'No cluster leader' } : undefined;
    const seen: number[] = [];
    start({
      rateLimit: { interval: 0 }, // only the backoff paces the loop here
      backoff: { initial: 40, max: 160 },
      random: () => {
        seen.push(queries().length);
        return 0.5;
      },
    });
    await new Promise((r) => setTimeout(r, 600));
    // 30, 60, 120, 120... ms between attempts: about 7 in 600 ms; a hot loop makes thousands.
    expect(queries().length).to.be.within(2, 12);
    expect(seen.length).to.be.greaterThan(0); // jitter was drawn for each retry
  });

  it('a dropped response times out and the loop carries on', async () => {
    let dropped = 0;
    target.double!.hook = (r: RecordedRequest): Fault | undefined =>
      r.path.endsWith(service) && dropped++ === 0 ? { drop: true } : undefined;
    const { inst, events } = start({ wait: '50ms', backoff: { initial: 10, max: 10 } });
    await inst.ready;
    expect(events.at(-1)!.error?.message).to.match(/timed out/);
    await waitFor(() => ids(events.at(-1))?.length === 2 && !events.at(-1)!.error, {
      what: 'the set after a retry',
    });
  });

  it('close() aborts the query in flight and leaves nothing running', async () => {
    const base = await baseline();
    const own = target.client();
    target.double!.hook = (r) => (r.path.endsWith(service) ? { delay: 50 } : undefined);
    const inst = consulInstancer(own, { service, wait: '5m' });
    await inst.ready;
    await waitFor(() => queries().length >= 2, { what: 'a blocking query in flight' });
    await inst.close(); // without the abort this would wait out the 5 minute query
    own.destroy();
    await assertNoLeaks(base);
  });

  it('passingOnly: false also reports instances whose checks fail', async () => {
    await target.catalogRegister({
      Node: `${service}-sick`,
      Address: '10.0.0.9',
      Service: { ID: 'search-api-9', Service: service, Port: 8009, Tags: ['api'] },
      Check: { CheckID: 'svc-check', Name: 'c', Status: 'critical', ServiceID: 'search-api-9' },
    });
    const all = start({ passingOnly: false });
    const healthy = start();
    await Promise.all([all.inst.ready, healthy.inst.ready]);
    expect(ids(all.events.at(-1))).to.include('search-api-9');
    expect(ids(healthy.events.at(-1))).to.not.include('search-api-9');
  });
});
