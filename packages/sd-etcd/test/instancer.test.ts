import { Endpointer } from '@kitts/sd';
import {
  assertNoLeaks,
  baseline,
  type EtcdServer,
  startEtcd,
  startTcpProxy,
  type TcpProxy,
  waitFor,
} from '@kitts/testkit';
import { expect } from 'chai';
import type { Etcd3, Namespace } from 'etcd3';
import { type EtcdInstancer, etcdInstancer, etcdRegistrar } from '../src/index.js';
import { echoFactory, memoryLogger, record, testClient } from './helpers.js';

describe('etcdInstancer against a real etcd', function () {
  this.timeout(20_000);
  let etcd: EtcdServer;
  let n = 0;
  const fresh = () => `/kitts/instancer-${++n}/`;
  const cleanup: (() => Promise<unknown> | unknown)[] = [];

  before(async () => {
    etcd = await startEtcd();
  });
  afterEach(async () => {
    for (const f of cleanup.splice(0).reverse()) await f();
  });
  after(async () => {
    await etcd?.stop();
  });

  function open(
    client: Etcd3 | Namespace,
    prefix: string,
    options: Partial<Parameters<typeof etcdInstancer>[1]> = {},
  ) {
    const instancer = etcdInstancer(client, { prefix, ...options });
    const endpointer = new Endpointer(instancer, echoFactory);
    cleanup.push(
      () => instancer.close(),
      () => endpointer.close(),
    );
    const ids = () => endpointer.current().entries.map((e) => e.instance.id);
    return { instancer, endpointer, ids };
  }

  function client(endpoint = etcd.endpoint): Etcd3 {
    const c = testClient(endpoint);
    cleanup.push(() => c.close());
    return c;
  }

  it('shows a registered instance through an Endpointer within 1 s and drops it on deregister', async () => {
    const base = await baseline();
    const prefix = fresh();
    const { instancer, endpointer, ids } = open(client(), prefix);
    await instancer.ready;
    expect(ids()).to.deep.equal([]);

    const want = { id: 'book-1', address: '127.0.0.1:8001', weight: 3, tags: ['v2'], meta: { zone: 'a' } };
    const registrar = etcdRegistrar(client(), { prefix, instance: want, ttl: 2 });
    await registrar.register();
    await waitFor(() => ids().length === 1, { timeout: 1000, what: 'the registered instance' });
    expect(endpointer.current().entries[0]!.instance).to.deep.equal(want);

    await registrar.deregister();
    // Revoking the lease deletes the key in the same request: nothing to wait for.
    expect(await etcd.etcdctl('get', prefix, '--prefix', '--keys-only')).to.equal('');
    await waitFor(() => ids().length === 0, { timeout: 1000, what: 'the instance to leave' });

    for (const f of cleanup.splice(0).reverse()) await f();
    await assertNoLeaks(base);
  });

  it('reads keys written by etcdctl: plain host:port (id = key suffix) and JSON, under the prefix as a directory', async () => {
    const prefix = fresh();
    const sibling = `${prefix.slice(0, -1)}store/`; // '/kitts/instancer-2store/': shares the string prefix only
    await etcd.etcdctl('put', `${prefix}a`, '10.0.0.1:80');
    await etcd.etcdctl('put', `${prefix}b`, JSON.stringify({ address: '10.0.0.2:80', weight: 2 }));
    await etcd.etcdctl('put', `${sibling}x`, '10.0.0.3:80');
    await etcd.etcdctl('put', prefix, '10.0.0.4:80'); // the directory key itself is no instance
    const { instancer, endpointer } = open(client(), prefix.slice(0, -1)); // given without the slash
    await instancer.ready;
    expect(endpointer.current().entries.map((e) => e.instance)).to.deep.equal([
      { id: 'a', address: '10.0.0.1:80' },
      { id: 'b', address: '10.0.0.2:80', weight: 2 },
    ]);
  });

  it('applies watch deltas to the known set without listing again', async () => {
    const prefix = fresh();
    const c = client();
    let lists = 0;
    // A namespace that counts listings; everything else goes to the real client.
    const counting = Object.create(c) as Etcd3;
    counting.getAll = () => {
      lists++;
      return c.getAll();
    };
    const { messages, logger } = memoryLogger();
    const made: string[] = [];
    const instancer = etcdInstancer(counting, { prefix, logger });
    const endpointer = new Endpointer(instancer, (i) => {
      made.push(`${i.id}@${i.address}`);
      return echoFactory(i);
    });
    cleanup.push(
      () => instancer.close(),
      () => endpointer.close(),
    );
    const view = () => endpointer.current().entries.map((e) => `${e.instance.id}@${e.instance.address}`);
    await instancer.ready;

    await etcd.etcdctl('put', `${prefix}a`, '10.0.0.1:80');
    await etcd.etcdctl('put', `${prefix}b`, '10.0.0.2:80');
    await waitFor(() => view().length === 2, { what: 'a and b' });
    await etcd.etcdctl('put', `${prefix}a`, '10.0.0.9:80'); // a moved
    await etcd.etcdctl('put', `${prefix}b`, '{not json'); // b now holds garbage: it is gone
    await etcd.etcdctl('put', `${prefix}c`, '10.0.0.3:80');
    await etcd.etcdctl('del', `${prefix}c`);
    await etcd.etcdctl('put', `${prefix}d`, '10.0.0.4:80');
    await waitFor(() => view().join() === 'a@10.0.0.9:80,d@10.0.0.4:80', { what: 'the final set' });

    expect(lists).to.equal(1);
    expect(made).to.include.members(['a@10.0.0.1:80', 'a@10.0.0.9:80', 'd@10.0.0.4:80']);
    expect(messages.some((m) => m.includes('not an instance'))).to.equal(true);
  });

  it('lists again when etcd cancels a watch that starts below a compaction', async () => {
    const prefix = fresh();
    await etcd.etcdctl('put', `${prefix}a`, '10.0.0.1:80');
    const c = client();
    let lists = 0;
    // On the first listing, changes and a compaction land between the listing and the
    // watch that starts after it: etcd cancels that watch, and only a new listing can
    // see the changes.
    const racing = Object.create(c) as Etcd3;
    racing.getAll = () => {
      const builder = c.getAll();
      if (++lists > 1) return builder;
      const exec = builder.exec.bind(builder);
      builder.exec = async () => {
        const res = await exec();
        await etcd.etcdctl('put', `${prefix}b`, '10.0.0.2:80');
        await etcd.etcdctl('put', '/kitts/elsewhere', 'x'); // compacting to here removes b's revision
        await etcd.etcdctl('compact', String(await etcd.revision()));
        return res;
      };
      return builder;
    };
    const { messages, logger } = memoryLogger();
    const { instancer, ids } = open(racing, prefix, { logger, retry: { initial: 60_000, max: 60_000 } });
    await instancer.ready;
    await waitFor(() => ids().join() === 'a,b', { what: 'b, seen only by a second listing' });
    expect(lists).to.equal(2);
    expect(messages).to.include('kitts/sd-etcd: watch canceled by etcd; re-listing');
  });

  it('keeps the last set with an error event while etcd is down, then recovers with the current set', async () => {
    const prefix = fresh();
    await etcd.etcdctl('put', `${prefix}a`, '10.0.0.1:80');
    await etcd.etcdctl('put', `${prefix}b`, '10.0.0.2:80');
    const { instancer, ids } = open(client(), prefix, { retry: { initial: 50, max: 200 } });
    const { events } = record(instancer);
    await instancer.ready;
    expect(ids()).to.deep.equal(['a', 'b']);

    await etcd.kill();
    const failure = await waitFor(() => events.find((e) => e.error !== undefined), {
      what: 'an error event',
    });
    expect(failure.error!.message).to.match(/etcd unavailable/);
    expect(ids()).to.deep.equal(['a', 'b']); // a registry outage never empties the set

    await etcd.start();
    await etcd.etcdctl('del', `${prefix}a`);
    await etcd.etcdctl('put', `${prefix}c`, '10.0.0.3:80');
    await waitFor(() => ids().join() === 'b,c', { what: 'the current set after the restart' });
    expect(events.at(-1)!.error).to.equal(undefined);
  });

  describe('behind a proxy that can cut it off', () => {
    let proxy: TcpProxy;
    beforeEach(async () => {
      proxy = await startTcpProxy({ port: etcd.port });
      cleanup.push(() => proxy.close()); // first in, last out: clients close before it
    });

    it('lists again when its watch reconnects, though a compaction passed meanwhile', async () => {
      const prefix = fresh();
      await etcd.etcdctl('put', `${prefix}a`, '10.0.0.1:80');
      const { messages, logger } = memoryLogger();
      // Our own retry is far away: the recovery below is the watch's reconnect, which meets the compaction.
      const { instancer, ids } = open(client(`http://${proxy.address}`), prefix, {
        logger,
        retry: { initial: 60_000, max: 60_000 },
      });
      const { events } = record(instancer);
      await instancer.ready;
      expect(ids()).to.deep.equal(['a']);

      proxy.cut();
      await waitFor(() => events.some((e) => e.error !== undefined), { what: 'an error event' });
      await etcd.etcdctl('put', `${prefix}b`, '10.0.0.2:80');
      await etcd.etcdctl('del', `${prefix}a`);
      await etcd.etcdctl('compact', String(await etcd.revision()));
      proxy.heal();

      await waitFor(() => ids().join() === 'b', { what: 'the set after the compaction' });
      expect(messages).to.include('kitts/sd-etcd: watch reconnected; re-listing');
      expect(events.at(-1)!.error).to.equal(undefined);
    });

    it('registers again after its lease expired during a partition', async () => {
      const prefix = fresh();
      const { instancer, ids } = open(client(), prefix);
      await instancer.ready;
      const registrar = etcdRegistrar(client(`http://${proxy.address}`), {
        prefix,
        instance: { id: 'r1', address: '127.0.0.1:9001' },
        ttl: 1,
        retry: { initial: 50, max: 200 },
      });
      cleanup.push(() => registrar.deregister());
      await registrar.register();
      await waitFor(() => ids().length === 1, { what: 'the registration' });
      const leaseBefore = await leaseOf(etcd, `${prefix}r1`);

      proxy.cut();
      await waitFor(() => ids().length === 0, { timeout: 5000, what: 'the lease to expire' });
      proxy.heal();
      await waitFor(() => ids().length === 1, { timeout: 10_000, what: 'the registration to come back' });
      // The watch event may arrive before the registrar has heard back from its put.
      await waitFor(() => registrar.registered, { what: 'the registrar to know' });
      expect(await leaseOf(etcd, `${prefix}r1`)).to.not.equal(leaseBefore);
    });
  });

  it('delivers an empty first set and an error event when etcd cannot be reached at all', async () => {
    const base = await baseline();
    const proxy = await startTcpProxy({ port: etcd.port });
    proxy.cut();
    const c = testClient(`http://${proxy.address}`);
    const instancer: EtcdInstancer = etcdInstancer(c, { prefix: fresh(), retry: { initial: 50, max: 100 } });
    const { events } = record(instancer);
    await waitFor(() => events.some((e) => e.error !== undefined), { what: 'an error event' });
    expect(events[0]).to.deep.equal({ instances: [] });
    await instancer.close();
    c.close();
    await proxy.close();
    await assertNoLeaks(base);
  });
});

async function leaseOf(etcd: EtcdServer, key: string): Promise<string> {
  // Lease ids pass 2^53: read the digits, JSON.parse would round them.
  const out = await etcd.etcdctl('get', key, '--write-out=json');
  return /"lease":(\d+)/.exec(out)?.[1] ?? 'none';
}
