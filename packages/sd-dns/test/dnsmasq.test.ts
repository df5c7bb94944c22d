import { promises as dns } from 'node:dns';
import type { Endpoint } from '@kitts/endpoint';
import { Endpointer, type Instance, type InstancerEvent } from '@kitts/sd';
import {
  assertNoLeaks,
  baseline,
  type DnsmasqServer,
  type DnsRecords,
  startDnsmasq,
  waitFor,
} from '@kitts/testkit';
import { expect } from 'chai';
import { type DnsSrvInstancerOptions, dnsSrvInstancer } from '../src/index.js';

const echo =
  (i: Instance): Endpoint<unknown, string> =>
  async () =>
    i.address;
const NAME = '_api._tcp.svc.test';

const records: DnsRecords = {
  hosts: [
    { name: 'api-1.svc.test', addresses: ['127.0.0.1'] },
    { name: 'api-2.svc.test', addresses: ['127.0.0.2', '::1'] },
    { name: 'backup.svc.test', addresses: ['127.0.0.9'] },
  ],
  srv: [
    { name: NAME, target: 'api-1.svc.test', port: 8081, priority: 10, weight: 60 },
    { name: NAME, target: 'api-2.svc.test', port: 8082, priority: 10, weight: 20 },
    { name: NAME, target: 'api-3.svc.test', port: 0, priority: 10, weight: 20 }, // "not here"
    { name: NAME, target: 'backup.svc.test', port: 9000, priority: 20, weight: 1 },
  ],
};

describe('dnsSrvInstancer against a real DNS server (dnsmasq)', function () {
  this.timeout(20_000);
  let server: DnsmasqServer;
  const cleanup: (() => Promise<unknown> | unknown)[] = [];

  before(async () => {
    server = await startDnsmasq(records);
  });
  afterEach(async () => {
    for (const f of cleanup.splice(0).reverse()) await f();
  });
  after(async () => {
    await server?.stop();
  });

  function resolver(): dns.Resolver {
    // Short timeouts: a stopped server should be noticed in a fraction of a second.
    const r = new dns.Resolver({ timeout: 200, tries: 1 });
    r.setServers([server.address]);
    return r;
  }

  function open(name: string, options: DnsSrvInstancerOptions = {}) {
    const instancer = dnsSrvInstancer(name, { resolver: resolver(), interval: 60_000, ...options });
    const endpointer = new Endpointer(instancer, echo);
    const events: InstancerEvent[] = [];
    instancer.subscribe((e) => events.push(e));
    cleanup.push(
      () => instancer.close(),
      () => endpointer.close(),
    );
    const instances = () => endpointer.current().entries.map((e) => e.instance);
    return { instancer, endpointer, events, instances };
  }

  it('uses the lowest-priority group, SRV weight as Instance.weight, skipping port 0 records on their own', async () => {
    const base = await baseline();
    const { instancer, instances } = open(NAME);
    await instancer.ready;
    expect(instances()).to.deep.equal([
      {
        id: 'api-1.svc.test:8081',
        address: 'api-1.svc.test:8081',
        weight: 60,
        meta: { target: 'api-1.svc.test', priority: '10' },
      },
      {
        id: 'api-2.svc.test:8082',
        address: 'api-2.svc.test:8082',
        weight: 20,
        meta: { target: 'api-2.svc.test', priority: '10' },
      },
    ]);
    for (const f of cleanup.splice(0).reverse()) await f();
    await assertNoLeaks(base);
  });

  it('resolves targets to A and AAAA addresses when asked, sharing a target weight among its addresses', async () => {
    const v4 = open(NAME, { resolveTargets: 'ipv4' });
    const any = open(NAME, { resolveTargets: 'any' });
    await Promise.all([v4.instancer.ready, any.instancer.ready]);
    expect(v4.instances().map((i) => [i.address, i.weight])).to.deep.equal([
      ['127.0.0.1:8081', 60],
      ['127.0.0.2:8082', 20],
    ]);
    expect(any.instances().map((i) => [i.address, i.weight])).to.deep.equal([
      ['127.0.0.1:8081', 60],
      ['127.0.0.2:8082', 10],
      ['[::1]:8082', 10],
    ]);
  });

  it('falls back to the next priority group when no target of the lowest one resolves', async () => {
    await server.restart({
      hosts: [{ name: 'backup.svc.test', addresses: ['127.0.0.9'] }],
      srv: [
        { name: NAME, target: 'gone.svc.test', port: 8081, priority: 10, weight: 5 },
        { name: NAME, target: 'backup.svc.test', port: 9000, priority: 20, weight: 0 },
      ],
    });
    const { instancer, instances } = open(NAME, { resolveTargets: 'ipv4' });
    await instancer.ready;
    expect(instances()).to.deep.equal([
      {
        id: '127.0.0.9:9000',
        address: '127.0.0.9:9000',
        meta: { target: 'backup.svc.test', priority: '20' },
      },
    ]);
    await server.restart(records);
  });

  it('picks up new records on the next interval after dnsmasq restarts with them', async () => {
    const { instancer, instances } = open(NAME, { interval: 100 });
    await instancer.ready;
    expect(instances().map((i) => i.id)).to.deep.equal(['api-1.svc.test:8081', 'api-2.svc.test:8082']);
    await server.restart({
      srv: [
        { name: NAME, target: 'api-2.svc.test', port: 8082, priority: 5, weight: 1 },
        { name: NAME, target: 'api-4.svc.test', port: 8084, priority: 5, weight: 3 },
      ],
    });
    try {
      await waitFor(
        () =>
          instances()
            .map((i) => i.id)
            .join() === 'api-2.svc.test:8082,api-4.svc.test:8084',
        {
          what: 'the new records',
        },
      );
      expect(instances().map((i) => i.weight)).to.deep.equal([1, 3]);
    } finally {
      await server.restart(records);
    }
  });

  it('keeps the last set with an error event while the DNS server is down, and recovers', async () => {
    const { instancer, events, instances } = open(NAME, { interval: 100 });
    await instancer.ready;
    await server.kill();
    try {
      const failed = await waitFor(() => events.find((e) => e.error !== undefined), {
        what: 'an error event',
      });
      expect(failed.error!.message).to.match(/looking up _api\._tcp\.svc\.test failed/);
      expect(instances()).to.have.length(2);
    } finally {
      await server.start();
    }
    await waitFor(() => events.at(-1)!.error === undefined, { what: 'recovery' });
    expect(instances()).to.have.length(2);
  });

  it('treats a name without records as an error by default, or as no instances when asked', async () => {
    const strict = open('_none._tcp.svc.test');
    const lenient = open('_none._tcp.svc.test', { notFound: 'empty' });
    await Promise.all([strict.instancer.ready, lenient.instancer.ready]);
    expect(strict.events.at(-1)!.error?.message).to.match(/ENOTFOUND|ENODATA/);
    expect(lenient.events.at(-1)).to.deep.equal({ instances: [] });
  });
});
