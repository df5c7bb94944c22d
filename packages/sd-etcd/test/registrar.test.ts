import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { fileURLToPath } from 'node:url';
import { assertNoLeaks, baseline, type EtcdServer, startEtcd, waitFor } from '@kitts/testkit';
import { expect } from 'chai';
import type { Etcd3 } from 'etcd3';
import { etcdInstancer, etcdRegistrar } from '../src/index.js';
import { record, testClient } from './helpers.js';

const child = fileURLToPath(new URL('./fixtures/registrar-child.ts', import.meta.url));

describe('etcdRegistrar against a real etcd', function () {
  this.timeout(20_000);
  let etcd: EtcdServer;
  let client: Etcd3;
  let n = 0;
  const fresh = () => `/kitts/registrar-${++n}/`;
  const keys = async (prefix: string) =>
    (await etcd.etcdctl('get', prefix, '--prefix', '--keys-only')).split('\n').filter((l) => l !== '');

  before(async () => {
    etcd = await startEtcd();
    client = testClient(etcd.endpoint);
  });
  after(async () => {
    client?.close();
    await etcd?.stop();
  });

  it('stores the instance as JSON under prefix/id with a lease of the given TTL', async () => {
    const prefix = fresh();
    const instance = { id: 'api-1', address: '10.1.0.1:8080', tags: ['blue'] };
    const registrar = etcdRegistrar(client, { prefix, instance, ttl: 3 });
    await registrar.register();
    await registrar.register(); // a second call changes nothing
    expect(registrar.key).to.equal(`${prefix}api-1`);
    expect(JSON.parse(await etcd.etcdctl('get', registrar.key, '--print-value-only'))).to.deep.equal(
      instance,
    );
    const lease = /"lease":(\d+)/.exec(await etcd.etcdctl('get', registrar.key, '--write-out=json'))![1]!;
    const ttl = await etcd.etcdctl('lease', 'timetolive', BigInt(lease).toString(16));
    expect(ttl).to.match(/granted with TTL\(3s\)/);
    await registrar.deregister();
    expect(await keys(prefix)).to.deep.equal([]);
    await registrar.deregister(); // and again: nothing to do
  });

  it('drops the instance of a process killed without deregistering within the TTL', async () => {
    const prefix = fresh();
    const instancer = etcdInstancer(client, { prefix });
    const { events } = record(instancer);
    const ids = () => events.at(-1)!.instances.map((i) => i.id);
    const proc = spawn(
      process.execPath,
      ['--import', 'tsx', '--conditions=source', child, etcd.endpoint, prefix, 'doomed', '127.0.0.1:9999'],
      { stdio: ['ignore', 'pipe', 'inherit'] },
    );
    try {
      const [line] = (await once(proc.stdout!, 'data')) as [Buffer];
      expect(line.toString()).to.equal('registered\n');
      await waitFor(() => ids().length === 1, { what: 'the child registration' });
      proc.kill('SIGKILL');
      await once(proc, 'exit');
      // TTL 1 s; etcd checks expiry every 500 ms: allow for that, not more.
      await waitFor(() => ids().length === 0, { timeout: 2500, what: 'the lease to expire' });
    } finally {
      proc.kill('SIGKILL');
      await instancer.close();
    }
  });

  it('keeps its key through an etcd restart (the lease survives and keepalives resume)', async () => {
    const prefix = fresh();
    const c = testClient(etcd.endpoint);
    const registrar = etcdRegistrar(c, { prefix, instance: { id: 'x', address: '10.0.0.1:1' }, ttl: 1 });
    await registrar.register();
    await etcd.restart();
    // Longer than the TTL: only working keepalives keep the key.
    await new Promise((r) => setTimeout(r, 1500));
    expect(await keys(prefix)).to.deep.equal([`${prefix}x`]);
    expect(registrar.registered).to.equal(true);
    await registrar.deregister();
    c.close();
  });

  it('creates and closes its own client from etcd3 options, leaving no handles', async () => {
    const base = await baseline();
    const prefix = fresh();
    const registrar = etcdRegistrar(
      { hosts: etcd.endpoint },
      { prefix, instance: { id: 'o', address: 'h:1' } },
    );
    const instancer = etcdInstancer({ hosts: etcd.endpoint }, { prefix });
    const { events } = record(instancer);
    await registrar.register();
    await waitFor(() => events.at(-1)?.instances.length === 1, { what: 'the registration' });
    await registrar.close();
    await instancer.close();
    expect(await keys(prefix)).to.deep.equal([]);
    // etcd3's watch manager ends its stream after the last watch is cancelled and arms
    // one reconnect timer (its watch backoff, ~128 ms by default) that then finds nothing
    // to do: wait that out, nothing else.
    await assertNoLeaks(base, { settleMs: 600 });
    let err: unknown;
    await registrar.register().catch((e) => (err = e));
    expect(String(err)).to.match(/closed/);
  });

  it('rejects bad options with errors that name the problem', () => {
    const instance = { id: 'a', address: 'h:1' };
    expect(() => etcdRegistrar(client, { prefix: '', instance })).to.throw(TypeError, /prefix/);
    expect(() => etcdRegistrar(client, { prefix: '/p', instance, ttl: 0.5 })).to.throw(RangeError, /ttl/);
    expect(() => etcdRegistrar(client, { prefix: '/p', instance: { id: 'a', address: '' } })).to.throw(
      /address/,
    );
    expect(() => etcdRegistrar(client, { prefix: '/p', instance: { id: '', address: 'h:1' } })).to.throw(
      /id/,
    );
    expect(() => etcdRegistrar(client, { prefix: '/p', instance, retry: { initial: -1 } })).to.throw(/retry/);
    expect(() => etcdInstancer(client, { prefix: '/' })).to.throw(TypeError, /prefix/);
    expect(() => etcdInstancer(null as never, { prefix: '/p' })).to.throw(TypeError, /etcd3 client/);
    expect(() => etcdInstancer({} as never, { prefix: '/p' })).to.throw(TypeError, /hosts/);
  });
});
