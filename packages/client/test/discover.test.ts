import { background } from '@kitts/endpoint';
import { type InstancerEvent, MemoryRegistry } from '@kitts/sd';
import { encodeInstance } from '@kitts/sd-etcd';
import { zkRegistrar } from '@kitts/sd-zookeeper';
import { assertNoLeaks, baseline, startDnsmasq, startEtcd, startZookeeper, waitFor } from '@kitts/testkit';
import { expect } from 'chai';
import { http } from '../src/http.js';
import { discover, parseDiscoveryUrl, serviceClient } from '../src/index.js';

describe('discover(url)', () => {
  it('parses every scheme', () => {
    expect(parseDiscoveryUrl('memory://', 'book')).to.deep.equal({ scheme: 'memory' });
    expect(parseDiscoveryUrl('static://127.0.0.1:1,unix:/tmp/x.sock', 'book')).to.deep.equal({
      scheme: 'static',
      addresses: ['127.0.0.1:1', 'unix:/tmp/x.sock'],
    });
    expect(parseDiscoveryUrl('etcd://10.0.0.1:2379,10.0.0.2:2379/services', 'book')).to.deep.equal({
      scheme: 'etcd',
      hosts: ['http://10.0.0.1:2379', 'http://10.0.0.2:2379'],
      prefix: '/services/book',
    });
    expect(parseDiscoveryUrl('etcd://127.0.0.1:2379', 'book')).to.include({ prefix: '/services/book' });
    expect(
      parseDiscoveryUrl('consul://127.0.0.1:8500?tag=api&tag=v2&dc=eu&passing=false', 'search'),
    ).to.deep.equal({
      scheme: 'consul',
      host: '127.0.0.1',
      port: 8500,
      tags: ['api', 'v2'],
      passingOnly: false,
      datacenter: 'eu',
    });
    expect(parseDiscoveryUrl('zk://127.0.0.1:2181,127.0.0.2:2181/kitts/', 'book')).to.deep.equal({
      scheme: 'zk',
      connectionString: '127.0.0.1:2181,127.0.0.2:2181',
      path: '/kitts/book',
    });
    expect(parseDiscoveryUrl('dns+srv://_api._tcp.svc.test', 'api')).to.deep.equal({
      scheme: 'dns+srv',
      name: '_api._tcp.svc.test',
    });
    expect(
      parseDiscoveryUrl('dns+srv://127.0.0.1:5353/_api._tcp.svc.test?interval=500', 'api'),
    ).to.deep.equal({
      scheme: 'dns+srv',
      name: '_api._tcp.svc.test',
      server: '127.0.0.1:5353',
      interval: 500,
    });
    expect(parseDiscoveryUrl('eureka://127.0.0.1:8761/eureka', 'book')).to.deep.equal({
      scheme: 'eureka',
      url: 'http://127.0.0.1:8761/eureka',
    });
    expect(parseDiscoveryUrl('eurekas://e.example:443/eureka/', 'book')).to.include({
      url: 'https://e.example:443/eureka',
    });
  });

  it('rejects bad URLs with an error naming the scheme and the problem', () => {
    const cases: [string, RegExp][] = [
      ['redis://127.0.0.1:6379', /unknown discovery scheme "redis"/],
      ['127.0.0.1:2379', /not a discovery URL/],
      ['etcd://', /bad etcd:\/\/ URL/],
      ['etcd://localhost/services', /bad etcd:\/\/ URL.*host:port/],
      ['consul://a:1,b:2', /bad consul:\/\/ URL.*one agent/],
      ['zk:///path', /bad zk:\/\/ URL/],
      ['static://', /bad static:\/\/ URL/],
      ['dns+srv://', /bad dns\+srv:\/\/ URL/],
      ['dns+srv://1.2.3.4:53/_a._tcp.x?interval=soon', /interval/],
      ['eureka://nohost/eureka', /bad eureka:\/\/ URL/],
    ];
    for (const [url, want] of cases) expect(() => parseDiscoveryUrl(url, 's'), url).to.throw(want);
    expect(() => discover('nope://x', 's')).to.throw(/unknown discovery scheme "nope"/);
  });

  it('memory:// follows a MemoryRegistry, static:// a fixed list', async () => {
    const memory = new MemoryRegistry();
    await memory.registrar('book', { id: 'b1', address: '127.0.0.1:1' }).register();
    let last: InstancerEvent | undefined;
    const m = discover('memory://', 'book', { memory });
    m.subscribe((e) => (last = e));
    expect(last?.instances.map((i) => i.id)).to.deep.equal(['b1']);
    const s = discover('static://127.0.0.1:2,127.0.0.1:1', 'book');
    s.subscribe((e) => (last = e));
    expect(last?.instances.map((i) => i.address)).to.deep.equal(['127.0.0.1:1', '127.0.0.1:2']);
    await m.close();
    await s.close();
    memory.close();
  });

  describe('etcd:// against a real etcd', function () {
    this.timeout(30_000);
    let etcd: Awaited<ReturnType<typeof startEtcd>>;
    before(async () => {
      etcd = await startEtcd();
    });
    after(async () => etcd?.stop());

    it('finds instances under <prefix>/<service>/ and releases everything on close', async () => {
      const base = await baseline();
      await etcd.etcdctl('put', '/kitts/book/b1', encodeInstance({ id: 'b1', address: '127.0.0.1:7001' }));
      await etcd.etcdctl('put', '/kitts/bookstore/x', '127.0.0.1:9');
      const client = serviceClient({
        service: 'book',
        discovery: `etcd://127.0.0.1:${etcd.port}/kitts`,
        transport: http({ methods: { get: { method: 'GET', path: '/b/:id' } } }),
      });
      await client.ready(5000);
      await waitFor(() => client.endpointer.current().entries.length === 1);
      expect(client.endpointer.current().entries.map((e) => e.instance.address)).to.deep.equal([
        '127.0.0.1:7001',
      ]);
      await etcd.etcdctl('put', '/kitts/book/b2', '127.0.0.1:7002');
      await waitFor(() => client.endpointer.current().entries.length === 2, { what: 'b2 to appear' });
      // Nothing listens there: the call fails fast with a connection error, never hangs.
      const err = await client.get(background(), { id: '1' }).catch((e: unknown) => e);
      expect(err).to.be.instanceOf(Error);
      await client.close();
      await assertNoLeaks(base, { settleMs: 1500 });
    });

    it('a missing adapter would be named: the error event says what to install', async () => {
      // All adapters are installed here; prove the loader reports a failure as an error event instead.
      const i = discover('etcd://127.0.0.1:1/kitts', 'book');
      let last: InstancerEvent | undefined;
      i.subscribe((e) => (last = e));
      expect(last?.instances).to.deep.equal([]);
      await i.close();
    });
  });

  describe('zk:// and dns+srv:// against real servers', function () {
    this.timeout(30_000);

    it('zk:// follows the children of <path>/<service>', async () => {
      const zk = await startZookeeper();
      try {
        const reg = zkRegistrar(zk.connectionString, {
          path: '/kitts/book',
          instance: { id: 'b1', address: '127.0.0.1:7001' },
        });
        await reg.register();
        const i = discover(`zk://${zk.connectionString}/kitts`, 'book');
        let last: InstancerEvent | undefined;
        i.subscribe((e) => (last = e));
        await waitFor(() => last?.instances.length === 1, { timeout: 10_000, what: 'the zk instance' });
        expect(last!.instances[0]!.address).to.equal('127.0.0.1:7001');
        await reg.deregister();
        await waitFor(() => last?.instances.length === 0, {
          timeout: 10_000,
          what: 'the zk instance to leave',
        });
        await i.close();
        await (reg as unknown as { close?: () => Promise<void> }).close?.();
      } finally {
        await zk.stop();
      }
    });

    it('dns+srv://server:port/name resolves SRV records with weights', async () => {
      const dns = await startDnsmasq({
        srv: [
          { name: '_api._tcp.svc.test', target: 'api-1.svc.test', port: 8081, priority: 10, weight: 50 },
          { name: '_api._tcp.svc.test', target: 'api-2.svc.test', port: 8082, priority: 10, weight: 10 },
        ],
        hosts: [
          { name: 'api-1.svc.test', addresses: ['127.0.0.1'] },
          { name: 'api-2.svc.test', addresses: ['127.0.0.1'] },
        ],
      });
      try {
        const i = discover(`dns+srv://127.0.0.1:${dns.port}/_api._tcp.svc.test?interval=200`, 'api');
        let last: InstancerEvent | undefined;
        i.subscribe((e) => (last = e));
        await waitFor(() => last?.instances.length === 2, { timeout: 10_000, what: 'the SRV records' });
        expect(last!.instances.map((x) => [x.address, x.weight])).to.deep.equal([
          ['api-1.svc.test:8081', 50],
          ['api-2.svc.test:8082', 10],
        ]);
        await i.close();
      } finally {
        await dns.stop();
      }
    });
  });
});
