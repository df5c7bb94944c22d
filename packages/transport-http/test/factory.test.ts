import { mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { background, type Context } from '@kitts/endpoint';
import { Endpointer, type Instance, InstanceBroadcaster, type Instancer } from '@kitts/sd';
import { assertNoLeaks, baseline } from '@kitts/testkit';
import { expect } from 'chai';
import {
  createHandler,
  createRouter,
  encodeJSON,
  httpFactory,
  jsonBody,
  jsonRequest,
  jsonResponse,
  PoolSet,
  shutdown,
} from '../src/index.js';
import { type Running, serve } from './helpers.js';

/** A hand-written Instancer the test moves instances in and out of. */
class TestInstancer implements Instancer {
  readonly broadcaster = new InstanceBroadcaster();
  subscribe(listener: Parameters<Instancer['subscribe']>[0]) {
    return this.broadcaster.subscribe(listener);
  }
  set(instances: Instance[]) {
    this.broadcaster.update(instances);
  }
  async close() {
    this.broadcaster.clear();
  }
}

/** A small service: GET /whoami names the server, POST /echo returns its body. */
function service(name: string) {
  return createRouter([
    {
      method: 'GET',
      path: '/whoami',
      handler: createHandler(
        () => Promise.resolve({ name }),
        () => ({}),
        encodeJSON,
      ),
    },
    {
      method: 'POST',
      path: '/echo',
      handler: createHandler((_ctx: Context, r: unknown) => Promise.resolve(r), jsonBody(), encodeJSON),
    },
  ]);
}

describe('transport-http sd factory', () => {
  let base: Map<string, number>;
  let servers: Running[] = [];
  beforeEach(async () => {
    base = await baseline();
    servers = [await serve(service('a')), await serve(service('b'))];
  });
  afterEach(async () => {
    await Promise.all(servers.map((s) => s.close()));
    await assertNoLeaks(base);
  });

  it('builds one client per instance, sharing one pool per instance across methods, closed when the instance leaves', async () => {
    const pools = new PoolSet();
    const instancer = new TestInstancer();
    const [a, b] = servers.map((s, i) => ({ id: `i${i}`, address: `127.0.0.1:${s.port}` }));
    instancer.set([a!, b!]);
    const whoami = new Endpointer(
      instancer,
      httpFactory('GET', '/whoami', () => {}, jsonResponse(), { pools }),
    );
    const echo = new Endpointer(
      instancer,
      httpFactory('POST', '/echo', jsonRequest, jsonResponse(), { pools }),
    );

    const names = await Promise.all(whoami.current().entries.map((e) => e.endpoint(background(), undefined)));
    expect(names).to.deep.equal([{ name: 'a' }, { name: 'b' }]);
    expect(await echo.current().entries[1]!.endpoint(background(), { x: 1 })).to.deep.equal({ x: 1 });
    expect(pools.size, 'two instances, two pools, whatever the number of methods').to.equal(2);

    instancer.set([b!]);
    await new Promise((r) => setImmediate(r));
    expect(pools.size, 'the pool of the instance that left is closed').to.equal(1);
    expect((await whoami.current().entries[0]!.endpoint(background(), undefined)) as unknown).to.deep.equal({
      name: 'b',
    });

    await whoami.close();
    expect(pools.size, 'still used by the echo endpoints').to.equal(1);
    await echo.close();
    expect(pools.size).to.equal(0);
    await instancer.close();
  });

  it('accepts http:// addresses and calls servers on unix sockets', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'kitts-http-'));
    const socketPath = join(dir, 'svc.sock');
    const server = createServer(service('unix'));
    await new Promise<void>((r) => server.listen(socketPath, r));
    const pools = new PoolSet();
    try {
      const factory = httpFactory('GET', '/whoami', () => {}, jsonResponse(), { pools });
      const overUnix = factory({ id: 'u', address: `unix:${socketPath}` });
      const overUrl = factory({ id: 'h', address: `http://127.0.0.1:${servers[0]!.port}` });
      if (typeof overUnix === 'function' || typeof overUrl === 'function')
        throw new Error('want a FactoryResult');
      expect(await overUnix.endpoint(background(), undefined)).to.deep.equal({ name: 'unix' });
      expect(await overUrl.endpoint(background(), undefined)).to.deep.equal({ name: 'a' });
      await overUnix.close?.();
      await overUrl.close?.();
      expect(pools.size).to.equal(0);
    } finally {
      await pools.close();
      await shutdown(server, { timeout: 1000 });
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('refuses addresses it cannot call, naming them', () => {
    const factory = httpFactory('GET', '/x', () => {}, jsonResponse(), { pools: new PoolSet() });
    for (const address of ['ftp://h:1', 'unix:relative.sock', 'http://', ':::']) {
      expect(() => factory({ id: 'x', address }), address).to.throw(TypeError, JSON.stringify(address));
    }
    expect(() => httpFactory('GET', 'x', () => {}, jsonResponse())).to.throw(TypeError, /start with/);
  });

  it('releases a lease only once, however often close is called', async () => {
    const pools = new PoolSet();
    const factory = httpFactory('GET', '/whoami', () => {}, jsonResponse(), { pools });
    const address = `127.0.0.1:${servers[0]!.port}`;
    const one = factory({ id: '1', address });
    const two = factory({ id: '2', address });
    if (typeof one === 'function' || typeof two === 'function') throw new Error('want a FactoryResult');
    await one.close?.();
    await one.close?.();
    expect(pools.size).to.equal(1);
    expect(await two.endpoint(background(), undefined)).to.deep.equal({ name: 'a' });
    await two.close?.();
    expect(pools.size).to.equal(0);
  });
});
