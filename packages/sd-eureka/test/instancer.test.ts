import { Endpointer, type InstancerEvent } from '@kitts/sd';
import { assertNoLeaks, baseline, waitFor } from '@kitts/testkit';
import { expect } from 'chai';
import { EurekaError, type EurekaInstancer, eurekaInstancer, toInstances } from '../src/index.js';
import { type EurekaTarget, eurekaTarget, instanceBody, REAL, raw, uniqueApp } from './target.js';

const ids = (e: InstancerEvent | undefined) => e?.instances.map((i) => i.id);
// A real server serves registrations from a cache refreshed every 30 s.
const SLOW = REAL ? 90_000 : 3000;

describe('eurekaInstancer', function () {
  this.timeout(REAL ? 120_000 : 10_000);
  let target: EurekaTarget;
  let app: string;
  const open: EurekaInstancer[] = [];

  before(async () => {
    target = await eurekaTarget();
  });
  beforeEach(() => {
    app = uniqueApp('go-kit');
  });
  afterEach(async () => {
    if (target.double) target.double.hook = undefined;
    await Promise.all(open.splice(0).map((i) => i.close()));
  });
  after(async () => {
    await target.close();
  });

  const register = async (id: string, ip: string, status = 'UP', meta: Record<string, string> = {}) => {
    const r = await raw('POST', `${target.url}/apps/${app}`, instanceBody(app, id, ip, status, meta));
    expect(r.status, r.text).to.equal(204);
  };
  const remove = (id: string) => raw('DELETE', `${target.url}/apps/${app}/${id}`);
  function watch() {
    const events: InstancerEvent[] = [];
    const inst = eurekaInstancer({ url: target.url, app, interval: 50 });
    open.push(inst);
    inst.subscribe((e) => events.push(e));
    return { inst, events, last: () => events.at(-1) };
  }

  it('reports the registered instances (go-kit TestInstancer)', async () => {
    await register('i-1', '192.168.0.1');
    await register('i-2', '192.168.0.2');
    const { last } = watch();
    await waitFor(() => ids(last())?.length === 2, { what: 'two instances', timeout: SLOW });
    expect(last()!.instances.map((i) => i.address)).to.deep.equal(['192.168.0.1:8080', '192.168.0.2:8080']);
    await Promise.all([remove('i-1'), remove('i-2')]);
  });

  it('follows registrations and deregistrations (go-kit TestInstancerReceivesUpdates)', async () => {
    await register('i-1', '192.168.0.1');
    const { last } = watch();
    await waitFor(() => ids(last())?.join() === 'i-1', { what: 'the first instance', timeout: SLOW });
    await register('i-2', '192.168.0.2');
    await waitFor(() => ids(last())?.join() === 'i-1,i-2', { what: 'both', timeout: SLOW });
    await remove('i-1');
    await waitFor(() => ids(last())?.join() === 'i-2', { what: 'only the second', timeout: SLOW });
    await remove('i-2');
  });

  it('serves only UP instances: DOWN, STARTING and OUT_OF_SERVICE are left out', async () => {
    await register('up', '10.0.0.1');
    await register('down', '10.0.0.2', 'DOWN');
    await register('starting', '10.0.0.3', 'STARTING');
    await register('oos', '10.0.0.4', 'OUT_OF_SERVICE');
    const { last } = watch();
    await waitFor(() => ids(last())?.length, { what: 'a set', timeout: SLOW });
    expect(ids(last())).to.deep.equal(['up']);
    // An operator's status override takes an instance out just the same.
    const r = await raw('PUT', `${target.url}/apps/${app}/up/status?value=OUT_OF_SERVICE`);
    expect(r.status).to.equal(200);
    await waitFor(() => ids(last())?.length === 0, {
      what: 'the overridden instance to leave',
      timeout: SLOW,
    });
    await Promise.all(['up', 'down', 'starting', 'oos'].map(remove));
  });

  it('takes weights and meta from the instance metadata', async () => {
    await register('heavy', '10.0.0.1', 'UP', { weight: '5', zone: 'a' });
    await register('plain', '10.0.0.2', 'UP', { weight: 'lots' });
    const { last } = watch();
    await waitFor(() => ids(last())?.length === 2, { what: 'two instances', timeout: SLOW });
    expect(last()!.instances).to.deep.equal([
      { id: 'heavy', address: '10.0.0.1:8080', weight: 5, meta: { weight: '5', zone: 'a' } },
      { id: 'plain', address: '10.0.0.2:8080', meta: { weight: 'lots' } },
    ]);
    await Promise.all([remove('heavy'), remove('plain')]);
  });

  it('an application with no instances (404) is an empty set, not an error', async () => {
    const { inst, last } = watch();
    await inst.ready;
    expect(last()).to.deep.equal({ instances: [] });
  });

  it('a server error emits an error keeping the last set; the next good poll clears it', async function () {
    if (!target.double) this.skip();
    await register('i-1', '192.168.0.1');
    const { inst, events, last } = watch();
    await inst.ready;
    const endpointer = new Endpointer(inst, () => async () => 'ok');
    target.double!.hook = (r) =>
      r.method === 'GET' ? { status: 503, body: 'Service Unavailable' } : undefined;
    await waitFor(() => last()!.error, { what: 'an error event' });
    expect(last()!.error).to.be.instanceOf(EurekaError);
    expect(last()!.error!.message).to.contain('503 Service Unavailable');
    expect(ids(last())).to.deep.equal(['i-1']);
    expect(endpointer.current().entries).to.have.length(1);
    target.double!.hook = undefined;
    await waitFor(() => !last()!.error, { what: 'recovery' });
    expect(events.filter((e) => e.error)).to.have.length(1); // a repeated failure is not re-sent
    await endpointer.close();
    await remove('i-1');
  });

  it('close() aborts the poll in flight and leaves nothing running', async function () {
    if (!target.double) this.skip();
    const base = await baseline();
    target.double!.hook = () => ({ drop: true });
    const inst = eurekaInstancer({ url: target.url, app, interval: 50 });
    await waitFor(() => target.double!.requests.some((r) => r.path.endsWith(app)), {
      what: 'a poll in flight',
    });
    await inst.close();
    await assertNoLeaks(base);
  });

  it('rejects bad options with an error naming the field', () => {
    expect(() => eurekaInstancer({ url: 'not a url', app: 'x' })).to.throw(TypeError, /options\.url/);
    expect(() => eurekaInstancer({ url: 'http://e/eureka', app: '' })).to.throw(TypeError, /options\.app/);
    expect(() => eurekaInstancer({ url: 'http://e/eureka', app: 'x', interval: 0 })).to.throw(
      TypeError,
      /interval/,
    );
  });
});

describe('toInstances (Eureka JSON to kitts instances)', () => {
  it('brackets IPv6 addresses (go-kit TestConvertFargoAppToInstances)', () => {
    const have = toInstances(
      {
        application: {
          instance: [
            { instanceId: 'a', ipAddr: '10.0.0.10', port: { $: 8000 }, status: 'UP' },
            { instanceId: 'b', ipAddr: '2001:db8:1::ab9:C0A8:102', port: 8000, status: 'UP' },
          ],
        },
      },
      'weight',
    );
    expect(have.map((i) => i.address)).to.deep.equal(['10.0.0.10:8000', '[2001:db8:1::ab9:C0A8:102]:8000']);
  });

  it('accepts a single instance written as an object, and the secure port when only it is enabled', () => {
    const have = toInstances(
      {
        application: {
          instance: {
            hostName: 'h1',
            ipAddr: '10.0.0.1',
            status: 'UP',
            port: { $: 80, '@enabled': 'false' },
            securePort: { $: 8443, '@enabled': 'true' },
            metadata: { '@class': 'java.util.Collections$EmptyMap' },
          },
        },
      },
      'weight',
    );
    expect(have).to.deep.equal([{ id: 'h1', address: '10.0.0.1:8443' }]);
  });

  it('refuses an answer without an application', () => {
    expect(() => toInstances({ applications: {} }, 'weight')).to.throw(TypeError, /application/);
  });
});
