import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { background } from '@kitts/endpoint';
import { assertNoLeaks, baseline } from '@kitts/testkit';
import { expect } from 'chai';
import { Gauge, Registry } from 'prom-client';
import { instrument, metricsHandler } from '../src/index.js';
import { parse, value } from './scrape.js';

async function serve(handler: ReturnType<typeof metricsHandler>): Promise<{ server: Server; url: string }> {
  const server = createServer(handler);
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return { server, url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/metrics` };
}

async function stop(server: Server): Promise<void> {
  server.closeAllConnections();
  await new Promise<void>((r) => server.close(() => r()));
}

describe('metricsHandler', () => {
  it('serves the registry in Prometheus text format over a real socket', async () => {
    const base = await baseline();
    const registry = new Registry();
    await instrument({ name: 'get', registry })(async () => 'ok')(background(), 1);
    const { server, url } = await serve(metricsHandler(registry));
    try {
      const res = await fetch(url);
      expect(res.status).to.equal(200);
      expect(res.headers.get('content-type')).to.equal(registry.contentType);
      const text = await res.text();
      expect(text).to.include('# TYPE kitts_requests_total counter');
      expect(
        value(parse(text), 'kitts_requests_total', { endpoint: 'get', outcome: 'ok', code: '' }),
      ).to.equal(1);

      const head = await fetch(url, { method: 'HEAD' });
      expect(head.status).to.equal(200);
      expect(await head.text()).to.equal('');

      const post = await fetch(url, { method: 'POST' });
      expect(post.status).to.equal(405);
      expect(post.headers.get('allow')).to.equal('GET, HEAD');
      await post.text();
    } finally {
      await stop(server);
    }
    await assertNoLeaks(base);
  });

  it('answers 500 naming the cause when a collect callback fails', async () => {
    const registry = new Registry();
    new Gauge({
      name: 'broken',
      help: 'fails to collect',
      registers: [registry],
      collect() {
        throw new Error('sensor unplugged');
      },
    });
    const { server, url } = await serve(metricsHandler(registry));
    try {
      const res = await fetch(url);
      expect(res.status).to.equal(500);
      expect(await res.text()).to.include('sensor unplugged');
    } finally {
      await stop(server);
    }
  });

  it('refuses something that is not a registry', () => {
    expect(() => metricsHandler({} as Registry)).to.throw(/needs a prom-client Registry/);
  });
});
