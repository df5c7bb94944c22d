import { createServer as createHttpServer, type Server } from 'node:http';
import { createServer as createTcpServer } from 'node:net';
import { inspect } from 'node:util';
import type { Logger } from '@kitts/endpoint';
import type { InstancerEvent } from '@kitts/sd';
import { assertNoLeaks, baseline, waitFor } from '@kitts/testkit';
import { expect } from 'chai';
import type Consul from 'consul';
import { ConsulError, type ConsulRegistrarOptions, consulInstancer, consulRegistrar } from '../src/index.js';
import { startGrpcHealthServer } from './double/grpc-health-server.js';
import { type ConsulTarget, consulTarget, REAL, rawRequest, uniqueName } from './target.js';

interface Health {
  id: string;
  address: string;
  checks: Record<string, string>;
  definition: Record<string, unknown> | undefined;
}

/** The service as the catalog sees it, passing or not (GET /v1/health/service/:name). */
async function healthOf(t: ConsulTarget, service: string): Promise<Health[]> {
  const { status, text } = await rawRequest(
    t.host,
    t.port,
    'GET',
    `/v1/health/service/${service}`,
    undefined,
    t.token,
  );
  expect(status).to.equal(200);
  return (JSON.parse(text) as any[]).map((e) => ({
    id: e.Service.ID,
    address: `${e.Service.Address}:${e.Service.Port}`,
    checks: Object.fromEntries(e.Checks.map((c: any) => [c.CheckID, c.Status])),
    definition: e.Checks.find((c: any) => c.ServiceID)?.Definition,
  }));
}
const statusOf = async (t: ConsulTarget, service: string, id: string) =>
  (await healthOf(t, service)).find((h) => h.id === id)?.checks[`service:${id}`];

describe('consulRegistrar', function () {
  // A real agent reaps at most every 30 s and never sooner than 1 minute after critical.
  this.timeout(REAL ? 150_000 : 10_000);
  let target: ConsulTarget;
  let client: Consul;
  const cleanup: (() => Promise<unknown>)[] = [];

  before(async () => {
    target = await consulTarget({ reapInterval: 50, minDeregisterAfter: 0 });
    client = target.client();
  });
  afterEach(async () => {
    for (const f of cleanup.splice(0).reverse()) await f().catch(() => {});
  });
  after(async () => {
    client.destroy();
    await target.close();
  });

  function registrar(extra: Partial<ConsulRegistrarOptions> = {}) {
    const service = extra.service ?? uniqueName('api');
    const r = consulRegistrar(client, {
      service,
      id: `${service}-1`,
      address: '127.0.0.1',
      port: 8080,
      token: target.token,
      ...extra,
    });
    cleanup.push(() => r.deregister());
    return { r, service, id: `${service}-1` };
  }

  it('registers id, address, tags, meta and weights, which the instancer reports', async () => {
    const { r, service, id } = registrar({
      tags: ['v2'],
      meta: { zone: 'a' },
      weights: { passing: 10, warning: 2 },
    });
    await r.register();
    const inst = consulInstancer(client, { service, tags: ['v2'], token: target.token });
    cleanup.push(() => inst.close());
    await inst.ready;
    let have: InstancerEvent | undefined;
    inst.subscribe((e) => (have = e))();
    expect(have!.instances).to.deep.equal([
      { id, address: '127.0.0.1:8080', weight: 10, tags: ['v2'], meta: { zone: 'a' } },
    ]);
    await r.deregister();
    await waitFor(async () => (await healthOf(target, service)).length === 0, { what: 'deregistration' });
  });

  it('TTL check: passing while the heartbeat runs; critical, then deregistered, once it stops', async () => {
    const { r, service, id } = registrar({
      check: { ttl: '900ms', deregisterCriticalServiceAfter: REAL ? '1m' : '300ms' },
    });
    await r.register();
    expect(await statusOf(target, service, id)).to.equal('passing');
    const passes = () =>
      target.double?.requests.filter(
        (q) => decodeURIComponent(q.path) === `/v1/agent/check/pass/service:${id}`,
      ).length;
    // Outlive the TTL twice over: only the heartbeat (every 300 ms) keeps it passing.
    await new Promise((res) => setTimeout(res, 1900));
    expect(await statusOf(target, service, id)).to.equal('passing');
    if (target.double) expect(passes()).to.be.at.least(5);
    await r.close(); // the process "dies": no deregistration, no more heartbeats
    await waitFor(async () => (await statusOf(target, service, id)) === 'critical', {
      what: 'critical after the TTL',
      timeout: 5000,
    });
    await waitFor(async () => (await healthOf(target, service)).length === 0, {
      what: 'reaped by DeregisterCriticalServiceAfter',
      timeout: REAL ? 140_000 : 5000,
      interval: 50,
    });
  });

  it('registers again when the agent has forgotten the service (heartbeat answers: unknown check)', async () => {
    const { r, service, id } = registrar({ check: { ttl: '3s', heartbeat: '100ms' } });
    await r.register();
    // An agent restart without persisted state looks like this to the registrar:
    const gone = await rawRequest(
      target.host,
      target.port,
      'PUT',
      `/v1/agent/service/deregister/${id}`,
      '',
      target.token,
    );
    expect(gone.status).to.equal(200);
    expect(await healthOf(target, service)).to.deep.equal([]);
    await waitFor(async () => (await statusOf(target, service, id)) === 'passing', {
      what: 're-registration',
    });
  });

  it('also registers again when an older agent answers 500 "does not have associated TTL"', async function () {
    if (!target.double) this.skip();
    const old = await consulTarget({ legacyErrors: true });
    const c = old.client();
    const service = uniqueName('api');
    const r = consulRegistrar(c, {
      service,
      id: 'o1',
      address: '127.0.0.1',
      port: 1,
      check: { ttl: '3s', heartbeat: '50ms' },
    });
    await r.register();
    old.double!.state.removeService('kitts-double', 'o1');
    await waitFor(async () => (await statusOf(old, service, 'o1')) === 'passing', {
      what: 're-registration',
    });
    expect(old.double!.requests.filter((q) => q.path === '/v1/agent/service/register')).to.have.length(2);
    await r.deregister();
    c.destroy();
    await old.close();
  });

  it('HTTP check: Consul probes the URL; 2xx is passing, 500 is critical', async () => {
    let code = 200;
    const web: Server = createHttpServer((_req, res) => res.writeHead(code).end());
    await new Promise<void>((res) => web.listen(0, '127.0.0.1', res));
    cleanup.push(() => new Promise((res) => web.close(res)));
    const url = `http://127.0.0.1:${(web.address() as { port: number }).port}/health`;
    const { r, service, id } = registrar({ check: { http: url, interval: '50ms', timeout: '1s' } });
    await r.register();
    expect((await healthOf(target, service))[0]!.definition).to.deep.include({ HTTP: url });
    await waitFor(async () => (await statusOf(target, service, id)) === 'passing', {
      what: 'HTTP check passing',
    });
    code = 500;
    await waitFor(async () => (await statusOf(target, service, id)) === 'critical', {
      what: 'HTTP check critical',
    });
  });

  it('TCP check: passing while the port accepts, critical once it is closed', async () => {
    const tcp = createTcpServer((s) => s.destroy());
    await new Promise<void>((res) => tcp.listen(0, '127.0.0.1', res));
    const addr = `127.0.0.1:${(tcp.address() as { port: number }).port}`;
    const { r, service, id } = registrar({ check: { tcp: addr, interval: '50ms' } });
    await r.register();
    await waitFor(async () => (await statusOf(target, service, id)) === 'passing', {
      what: 'TCP check passing',
    });
    await new Promise((res) => tcp.close(res));
    await waitFor(async () => (await statusOf(target, service, id)) === 'critical', {
      what: 'TCP check critical',
    });
  });

  it('gRPC check: probes grpc.health.v1 and follows SERVING / NOT_SERVING', async () => {
    const grpc = await startGrpcHealthServer();
    cleanup.push(() => grpc.close());
    const { r, service, id } = registrar({ check: { grpc: `127.0.0.1:${grpc.port}/api`, interval: '50ms' } });
    await r.register();
    await waitFor(async () => (await statusOf(target, service, id)) === 'passing', {
      what: 'gRPC check passing',
    });
    grpc.serving = false;
    await waitFor(async () => (await statusOf(target, service, id)) === 'critical', {
      what: 'gRPC check critical',
    });
  });

  it('deregister() removes the service, stops the heartbeat and leaves nothing running', async () => {
    const base = await baseline();
    const own = target.client();
    const service = uniqueName('api');
    const r = consulRegistrar(own, {
      service,
      id: 'x1',
      address: '127.0.0.1',
      port: 1,
      token: target.token,
      check: { ttl: '1s', heartbeat: '30ms' },
    });
    await r.register();
    await new Promise((res) => setTimeout(res, 100));
    await r.deregister();
    expect(await healthOf(target, service)).to.deep.equal([]);
    const count = target.double?.requests.length;
    await new Promise((res) => setTimeout(res, 100));
    expect(target.double?.requests.length).to.equal(count);
    own.destroy();
    await assertNoLeaks(base);
  });

  it('rejects bad options with an error naming the field', () => {
    const base = { service: 's', id: 'i', address: 'a', port: 1 };
    const bad: [Partial<ConsulRegistrarOptions>, RegExp][] = [
      [{ id: '' }, /options\.id/],
      [{ port: 70000 }, /options\.port/],
      [
        { check: { ttl: '10s', http: 'http://x' } as never },
        /exactly one of ttl, http, tcp, grpc; got ttl, http/,
      ],
      [{ check: { http: 'http://x/h' } as never }, /http check needs an interval/],
      [{ check: { ttl: 'ten seconds' } }, /check\.ttl must be a duration/],
      [{ check: { ttl: '1s', heartbeat: '2s' } }, /heartbeat must be positive and shorter/],
      [{ check: { tcp: 'nohost', interval: '1s' } }, /check\.tcp must be "host:port"/],
      [{ weights: { passing: 0 } }, /weights/],
    ];
    for (const [patch, want] of bad) {
      expect(() => consulRegistrar(client, { ...base, ...patch }), JSON.stringify(patch)).to.throw(
        TypeError,
        want,
      );
    }
    expect(() => consulRegistrar({} as never, base)).to.throw(TypeError, /Consul client/);
  });
});

describe('consulRegistrar and consulInstancer with ACLs (against the double)', () => {
  const token = 'e95b599e-166e-7d80-08ad-aee76e7ddf19';
  let target: ConsulTarget;
  let client: Consul;

  before(async function () {
    if (REAL) this.skip(); // needs an agent with a known token and default-deny ACLs
    target = await consulTarget({ aclToken: token });
    client = target.client();
  });
  after(async () => {
    client?.destroy();
    await target?.close();
  });

  it('sends the token on every request and never logs it, even when Consul echoes it', async () => {
    const lines: string[] = [];
    const logger: Logger = {
      debug: (...a) => lines.push(inspect(a, { depth: 10 })),
      info: (...a) => lines.push(inspect(a, { depth: 10 })),
      warn: (...a) => lines.push(inspect(a, { depth: 10 })),
      error: (...a) => lines.push(inspect(a, { depth: 10 })),
    };
    const service = uniqueName('secure');
    const r = consulRegistrar(client, {
      service,
      id: 's1',
      address: '127.0.0.1',
      port: 1,
      token,
      logger,
      check: { ttl: '2s', heartbeat: '40ms' },
    });
    await r.register();
    const inst = consulInstancer(client, { service, token, logger, wait: '100ms', backoff: { initial: 20 } });
    await inst.ready;
    target.double!.hook = (q) => ({ status: 500, body: `token ${q.token} is not allowed here` });
    await waitFor(() => lines.length >= 2, { what: 'failures to be logged' });
    target.double!.hook = undefined;
    await inst.close();
    await r.deregister();
    const mine = target.double!.requests.filter((q) => q.path !== '/v1/status/leader');
    expect(mine.length).to.be.greaterThan(3);
    expect(mine.filter((q) => q.token !== token)).to.deep.equal([]);
    expect(lines.join('\n')).to.not.contain(token);
    expect(lines.join('\n')).to.contain('[token]');
  });

  it('without the token, registration is refused (403) and reads come back filtered (empty)', async () => {
    const service = uniqueName('secure');
    const r = consulRegistrar(client, { service, id: 's2', address: '127.0.0.1', port: 1 });
    const err = await r.register().then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(err).to.be.instanceOf(ConsulError);
    expect((err as ConsulError).status).to.equal(403);
    expect((err as ConsulError).message).to.contain('Permission denied');
    const ok = consulRegistrar(client, { service, id: 's2', address: '127.0.0.1', port: 1, token });
    await ok.register();
    const anon = consulInstancer(client, { service });
    const authed = consulInstancer(client, { service, token });
    await Promise.all([anon.ready, authed.ready]);
    const last = (i: typeof anon) => {
      let e: InstancerEvent | undefined;
      i.subscribe((x) => (e = x))();
      return e!.instances.map((x) => x.id);
    };
    expect(last(anon)).to.deep.equal([]);
    expect(last(authed)).to.deep.equal(['s2']);
    await Promise.all([anon.close(), authed.close(), ok.deregister()]);
  });
});
