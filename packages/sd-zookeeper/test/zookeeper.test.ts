import type { Endpoint } from '@kitts/endpoint';
import { Endpointer, type Instance, type Instancer, type InstancerEvent } from '@kitts/sd';
import {
  assertNoLeaks,
  baseline,
  startTcpProxy,
  startZookeeper,
  type TcpProxy,
  waitFor,
  type ZookeeperServer,
} from '@kitts/testkit';
import { expect } from 'chai';
import zookeeper from 'node-zookeeper-client';
import { connectInstancer, ZkClient, zkInstancer, zkRegistrar } from '../src/index.js';

const echo =
  (i: Instance): Endpoint<unknown, string> =>
  async () =>
    i.address;

function record(instancer: Instancer): InstancerEvent[] {
  const events: InstancerEvent[] = [];
  instancer.subscribe((e) => events.push(e));
  return events;
}

describe('ZooKeeper adapters against a real ZooKeeper', function () {
  this.timeout(20_000);
  let zk: ZookeeperServer;
  let admin: ZkClient;
  let n = 0;
  const fresh = () => `/kitts/zk-${++n}/svc`;
  const cleanup: (() => Promise<unknown> | unknown)[] = [];

  before(async () => {
    zk = await startZookeeper();
    admin = new ZkClient(zk.connectionString, { spinDelay: 50 });
  });
  afterEach(async () => {
    for (const f of cleanup.splice(0).reverse()) await f();
  });
  after(async () => {
    await admin?.close();
    await zk?.stop();
  });

  /** A client for the code under test: short reconnect pauses, a session timeout of `ms`. */
  function client(connectionString = zk.connectionString, sessionTimeout = 4000): ZkClient {
    const c = new ZkClient(connectionString, { sessionTimeout, spinDelay: 50 });
    cleanup.push(() => c.close());
    return c;
  }

  function follow(c: ZkClient, path: string, factory = echo) {
    const instancer = zkInstancer(c, { path });
    const endpointer = new Endpointer(instancer, factory);
    cleanup.push(
      () => instancer.close(),
      () => endpointer.close(),
    );
    const ids = () => endpointer.current().entries.map((e) => e.instance.id);
    return { instancer, endpointer, ids };
  }

  const add = async (path: string, name: string, data: string) => {
    await admin.mkdirp(path);
    return admin.create(`${path}/${name}`, Buffer.from(data), zookeeper.CreateMode.PERSISTENT);
  };

  it("follows go-kit's sequence: 0, then 2, 3 and 1 instances as children come and go", async () => {
    const path = fresh();
    await admin.mkdirp(path);
    const { instancer, endpointer } = follow(client(), path);
    await instancer.ready;
    const count = () => endpointer.current().entries.length;
    expect(count()).to.equal(0);

    await add(path, 'instance1', '10.0.0.1:80');
    await add(path, 'instance2', '10.0.0.2:80');
    await waitFor(() => count() === 2, { what: '2 instances' });
    await add(path, 'instance3', '10.0.0.3:80');
    await waitFor(() => count() === 3, { what: '3 instances' });
    await admin.remove(`${path}/instance1`);
    await admin.remove(`${path}/instance2`);
    await waitFor(() => count() === 1, { what: '1 instance' });
    expect(endpointer.current().entries[0]!.instance).to.deep.equal({
      id: '10.0.0.3:80',
      address: '10.0.0.3:80',
    });
  });

  it("skips the one instance whose factory fails (go-kit's bad factory)", async () => {
    const path = fresh();
    await add(path, 'instance1', 'kaboom:1');
    await add(path, 'instance2', '10.0.0.2:80');
    const { instancer, endpointer } = follow(client(), path, (i) => {
      if (i.address === 'kaboom:1') throw new Error('kaboom');
      return echo(i);
    });
    await instancer.ready;
    await waitFor(() => endpointer.current().entries.length === 1, { what: 'the good instance' });
    expect(endpointer.current().entries[0]!.instance.address).to.equal('10.0.0.2:80');
  });

  it('reads JSON instances, re-reads a child whose data changed and skips data that is no instance', async () => {
    const path = fresh();
    await add(path, 'a', JSON.stringify({ id: 'a', address: '10.0.0.1:80', weight: 2 }));
    await add(path, 'bad', '');
    const { instancer, endpointer } = follow(client(), path);
    await instancer.ready;
    expect(endpointer.current().entries.map((e) => e.instance)).to.deep.equal([
      { id: 'a', address: '10.0.0.1:80', weight: 2 },
    ]);
    await admin.setData(
      `${path}/a`,
      Buffer.from(JSON.stringify({ id: 'a', address: '10.0.0.1:80', weight: 5 })),
    );
    await waitFor(() => endpointer.current().entries[0]?.instance.weight === 5, { what: 'the new weight' });
    // The data watch was re-armed by that read: a second change is seen too.
    await admin.setData(`${path}/a`, Buffer.from('10.0.0.9:80'));
    await waitFor(() => endpointer.current().entries[0]?.instance.address === '10.0.0.9:80', {
      what: 'the second change',
    });
    await admin.setData(`${path}/bad`, Buffer.from('10.0.0.7:80'));
    await waitFor(() => endpointer.current().entries.length === 2, { what: 'the repaired node' });
  });

  it('reports an empty set while the parent node is missing and follows it once created', async () => {
    const path = fresh();
    const { instancer, ids } = follow(client(), path);
    await instancer.ready;
    expect(ids()).to.deep.equal([]);
    await add(path, 'x', '10.0.0.1:80');
    await waitFor(() => ids().length === 1, { what: 'the instance under the new parent' });
  });

  it('registers an ephemeral sequential node and deregister deletes exactly that node', async () => {
    const base = await baseline();
    const path = fresh();
    await add(path, 'someone-else', '10.0.0.5:80');
    const c = new ZkClient(zk.connectionString, { spinDelay: 50 });
    const instancer = zkInstancer(c, { path });
    const events = record(instancer);
    const want = { id: 'api-1', address: '127.0.0.1:8001', tags: ['v1'] };
    const registrar = zkRegistrar(c, { path, instance: want });
    await registrar.register();
    expect(registrar.node).to.match(new RegExp(`^${path}/api-1\\.[0-9a-f-]{36}-\\d{10}$`));
    await waitFor(() => events.at(-1)!.instances.some((i) => i.id === 'api-1'), { what: 'the registration' });
    expect(events.at(-1)!.instances.find((i) => i.id === 'api-1')).to.deep.equal(want);

    await registrar.deregister();
    expect(await admin.getChildren(path)).to.deep.equal(['someone-else']); // the parent and the sibling stay
    await waitFor(() => events.at(-1)!.instances.length === 1, { what: 'the deregistration' });
    await instancer.close();
    await c.close();
    await assertNoLeaks(base);
  });

  it('keeps the last set with an error event while ZooKeeper restarts, then reads the current set', async () => {
    const path = fresh();
    await add(path, 'a', '10.0.0.1:80');
    // Whether the session survives the restart or expires, the instancer must end up current.
    const { instancer, ids } = follow(client(zk.connectionString, 2000), path);
    const events = record(instancer);
    await instancer.ready;
    await zk.kill();
    await waitFor(() => events.some((e) => e.error !== undefined), { what: 'an error event' });
    expect(ids()).to.deep.equal(['10.0.0.1:80']);
    await zk.start();
    await add(path, 'b', '10.0.0.2:80');
    await waitFor(() => ids().length === 2, { timeout: 10_000, what: 'the current set' });
    expect(events.at(-1)!.error).to.equal(undefined);
  });

  describe('behind a proxy that can cut it off', () => {
    let proxy: TcpProxy;
    beforeEach(async () => {
      proxy = await startTcpProxy({ port: zk.port });
      cleanup.push(() => proxy.close());
    });

    it('creates its node again after its session expired', async () => {
      const path = fresh();
      const { instancer, ids } = follow(client(), path);
      await instancer.ready;
      const cut = client(proxy.address, 1000);
      const registrar = zkRegistrar(cut, { path, instance: { id: 'r1', address: '127.0.0.1:9001' } });
      cleanup.push(() => registrar.deregister());
      await registrar.register();
      const before = registrar.node;
      await waitFor(() => ids().length === 1, { what: 'the registration' });

      proxy.cut();
      // The server expires the session after 1 s without it, and its node with it.
      await waitFor(() => ids().length === 0, { timeout: 5000, what: 'the session to expire' });
      proxy.heal();
      await waitFor(() => ids().length === 1, { timeout: 5000, what: 'the node to come back' });
      expect(registrar.node).to.be.a('string').and.not.equal(before);
      expect(await admin.getChildren(path)).to.have.length(1);
    });

    it('survives its own session expiry: error event meanwhile, then the current set from a new session', async () => {
      const path = fresh();
      await add(path, 'a', '10.0.0.1:80');
      const cut = client(proxy.address, 1000);
      const sessionBefore = await cut.connected().then(() => cut.sessionId);
      const { instancer, ids } = follow(cut, path);
      const events = record(instancer);
      await instancer.ready;

      proxy.cut();
      await waitFor(() => events.some((e) => e.error !== undefined), { what: 'an error event' });
      await admin.remove(`${path}/a`);
      await add(path, 'b', '10.0.0.2:80');
      expect(ids()).to.deep.equal(['10.0.0.1:80']); // kept while cut off
      await new Promise((r) => setTimeout(r, 1500)); // longer than the session timeout
      proxy.heal();
      await waitFor(() => ids().join() === '10.0.0.2:80', { timeout: 5000, what: 'the current set' });
      expect(cut.sessionId).to.not.equal(sessionBefore);
      expect(events.some((e) => /expired/.test(e.error?.message ?? ''))).to.equal(true);
    });

    it('closes without leaving handles even while the server cannot be reached', async () => {
      const base = await baseline();
      const { instancer, close } = connectInstancer({
        connectionString: proxy.address,
        path: fresh(),
        sessionTimeout: 1000,
        spinDelay: 50,
      });
      await instancer.ready;
      proxy.cut();
      await close();
      await assertNoLeaks(base, { settleMs: 150 }); // a reconnect round already scheduled runs out (spinDelay)
    });
  });

  it('rejects bad arguments with errors that name the problem', () => {
    const c = client();
    const instance = { id: 'a', address: 'h:1' };
    expect(() => zkInstancer(c, { path: 'services' })).to.throw(TypeError, /path/);
    expect(() => zkInstancer(c, { path: '/a//b' })).to.throw(TypeError, /path/);
    expect(() => zkInstancer(42 as never, { path: '/a' })).to.throw(
      TypeError,
      /ZkClient or a connection string/,
    );
    expect(() => zkRegistrar(c, { path: '/a', instance: { id: 'a', address: ' ' } })).to.throw(
      TypeError,
      /address/,
    );
    expect(() => zkRegistrar(c, { path: '/a', instance, retry: { initial: 0 } })).to.throw(
      RangeError,
      /retry/,
    );
    expect(() => new ZkClient('')).to.throw(TypeError, /connection string/);
    expect(() => new ZkClient('127.0.0.1:2181', { sessionTimeout: -1 })).to.throw(
      RangeError,
      /sessionTimeout/,
    );
  });
});
