import { inspect } from 'node:util';
import type { Logger } from '@kitts/endpoint';
import type { InstancerEvent } from '@kitts/sd';
import { assertNoLeaks, baseline, waitFor } from '@kitts/testkit';
import { expect } from 'chai';
import { EurekaError, type EurekaRegistrarOptions, eurekaInstancer, eurekaRegistrar } from '../src/index.js';
import { type EurekaTarget, eurekaTarget, REAL, raw, uniqueApp } from './target.js';

const SLOW = REAL ? 90_000 : 3000;

describe('eurekaRegistrar', function () {
  // A real server evicts every 60 s and caches reads for 30 s.
  this.timeout(REAL ? 200_000 : 10_000);
  let target: EurekaTarget;
  let app: string;
  const cleanup: (() => Promise<unknown>)[] = [];

  before(async () => {
    target = await eurekaTarget({ evictionInterval: 50 });
  });
  beforeEach(() => {
    app = uniqueApp('registrar');
  });
  afterEach(async () => {
    if (target.double) target.double.hook = undefined;
    for (const f of cleanup.splice(0).reverse()) await f().catch(() => {});
  });
  after(async () => {
    await target.close();
  });

  function registrar(extra: Partial<EurekaRegistrarOptions> = {}) {
    const r = eurekaRegistrar({
      url: target.url,
      app,
      instance: { hostName: 'api-1.local', ipAddr: '127.0.0.1', port: 8080, metadata: { weight: '3' } },
      renewInterval: 100,
      leaseDuration: 1,
      ...extra,
    });
    cleanup.push(() => r.deregister());
    return r;
  }
  const fetchApp = () => raw('GET', `${target.url}/apps/${app}`);
  const renewals = () =>
    target.double?.requests.filter((q) => q.method === 'PUT' && q.path.includes(app)).length ?? 0;
  const posts = () =>
    target.double?.requests.filter((q) => q.method === 'POST' && q.path.includes(app)).length ?? 0;

  it('registers, keeps the lease alive past its duration, and deregisters', async () => {
    const r = registrar();
    await r.register();
    expect(r.instanceId).to.equal(`api-1.local:${app.toLowerCase()}:8080`);
    const events: InstancerEvent[] = [];
    const inst = eurekaInstancer({ url: target.url, app, interval: 50 });
    cleanup.push(() => inst.close());
    inst.subscribe((e) => events.push(e));
    await waitFor(() => events.at(-1)?.instances.length === 1, { what: 'the instance', timeout: SLOW });
    expect(events.at(-1)!.instances[0]).to.deep.include({ address: '127.0.0.1:8080', weight: 3 });
    // Outlive the 1 s lease: only the renewals keep it.
    await new Promise((res) => setTimeout(res, 1300));
    expect((await fetchApp()).status).to.equal(200);
    if (target.double) expect(renewals()).to.be.at.least(5);
    await r.deregister();
    expect((await fetchApp()).status).to.equal(404);
  });

  it('registers again when a renewal answers 404 (the server forgot the lease)', async () => {
    const r = registrar();
    await r.register();
    // Evicted or lost in a server restart; a real server forgets it on DELETE.
    const gone = await raw('DELETE', `${target.url}/apps/${app}/${encodeURIComponent(r.instanceId)}`);
    expect(gone.status).to.equal(200);
    expect((await fetchApp()).status).to.equal(404);
    await waitFor(async () => (await fetchApp()).status === 200, { what: 're-registration', timeout: SLOW });
    if (target.double) expect(posts()).to.equal(2);
  });

  it('an instance whose renewals stop is evicted after its lease', async () => {
    const r = registrar();
    await r.register();
    await r.close(); // the process "dies": no more renewals, no DELETE
    await waitFor(async () => (await fetchApp()).status === 404, {
      what: 'eviction',
      timeout: REAL ? 180_000 : 5000,
      interval: 50,
    });
  });

  it('setStatus("DOWN") takes the instance out of instancers, "UP" brings it back', async () => {
    const r = registrar();
    await r.register();
    const events: InstancerEvent[] = [];
    const inst = eurekaInstancer({ url: target.url, app, interval: 50 });
    cleanup.push(() => inst.close());
    inst.subscribe((e) => events.push(e));
    await waitFor(() => events.at(-1)?.instances.length === 1, { what: 'UP', timeout: SLOW });
    await r.setStatus('DOWN');
    await waitFor(() => events.at(-1)?.instances.length === 0, { what: 'DOWN not served', timeout: SLOW });
    const listed = (await fetchApp()).json.application.instance;
    expect([listed].flat()[0].status).to.equal('DOWN');
    await r.setStatus('UP');
    await waitFor(() => events.at(-1)?.instances.length === 1, { what: 'UP again', timeout: SLOW });
  });

  it('logs failed renewals and keeps renewing; register() rejects when Eureka refuses', async function () {
    if (!target.double) this.skip();
    const lines: string[] = [];
    const capture = (...a: unknown[]) => lines.push(inspect(a));
    const logger: Logger = { debug: capture, info: capture, warn: capture, error: capture };
    const r = registrar({ logger, leaseDuration: 5 });
    await r.register();
    target.double!.hook = (q) => (q.method === 'PUT' ? { status: 500, body: 'boom' } : undefined);
    await waitFor(() => lines.some((l) => l.includes('500 boom')), { what: 'a logged failure' });
    target.double!.hook = undefined;
    const before = renewals();
    await waitFor(() => renewals() > before + 1, { what: 'renewals to go on' });
    target.double!.hook = (q) =>
      q.method === 'POST' ? { status: 400, body: 'Missing ip address' } : undefined;
    const err = await registrar()
      .register()
      .then(
        () => undefined,
        (e: unknown) => e,
      );
    expect(err).to.be.instanceOf(EurekaError);
    expect((err as EurekaError).status).to.equal(400);
    expect((err as EurekaError).message).to.contain('Missing ip address');
  });

  it('leaves nothing running after deregister()', async () => {
    const base = await baseline();
    const r = eurekaRegistrar({
      url: target.url,
      app,
      instance: { hostName: 'h', ipAddr: '127.0.0.1', port: 1 },
      renewInterval: 20,
      leaseDuration: 1,
    });
    await r.register();
    await new Promise((res) => setTimeout(res, 80));
    await r.deregister();
    await assertNoLeaks(base);
  });

  it('rejects bad options with an error naming the field', () => {
    const ok = { url: 'http://e/eureka', app: 'a', instance: { hostName: 'h', ipAddr: '1.2.3.4', port: 80 } };
    const bad: [Record<string, unknown>, RegExp][] = [
      [{ url: 'ftp://e' }, /options\.url/],
      [{ app: '' }, /options\.app/],
      [{ instance: { ...ok.instance, ipAddr: '' } }, /instance\.ipAddr/],
      [{ instance: { ...ok.instance, port: 0 } }, /instance\.port/],
      [{ instance: { ...ok.instance, status: 'SLEEPY' } }, /instance\.status/],
      [{ renewInterval: 100_000 }, /shorter than leaseDuration/],
    ];
    for (const [patch, want] of bad) {
      expect(() => eurekaRegistrar({ ...ok, ...patch } as never), JSON.stringify(patch)).to.throw(
        TypeError,
        want,
      );
    }
  });
});
