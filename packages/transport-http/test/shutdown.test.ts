import { createServer, type RequestListener, request, type Server } from 'node:http';
import { assertNoLeaks, baseline } from '@kitts/testkit';
import { expect } from 'chai';
import { Agent } from 'undici';
import { shutdown } from '../src/index.js';
import { deferred } from './helpers.js';

async function listen(listener: RequestListener): Promise<{ server: Server; url: string }> {
  const server = createServer(listener);
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const addr = server.address();
  return { server, url: `http://127.0.0.1:${typeof addr === 'object' && addr ? addr.port : 0}` };
}

describe('transport-http shutdown', () => {
  let base: Map<string, number>;
  beforeEach(async () => {
    base = await baseline();
  });

  it('lets an in-flight request finish, refuses new connections, closes idle keep-alive ones', async () => {
    const arrived = deferred<void>();
    const release = deferred<void>();
    const { server, url } = await listen((req, res) => {
      if (req.url === '/slow') {
        arrived.resolve();
        void release.promise.then(() => res.end('done'));
      } else res.end('quick');
    });
    const agent = new Agent({ keepAliveTimeout: 60_000 });
    // An idle keep-alive connection, left open by the client.
    const quick = await agent.request({ origin: url, path: '/quick', method: 'GET' });
    expect(await quick.body.text()).to.equal('quick');
    const slow = agent.request({ origin: url, path: '/slow', method: 'GET' });
    await arrived.promise;

    const closed = shutdown(server, { timeout: 30_000 });
    const refused = await new Promise<string>((resolve) => {
      const r = request(url, { agent: false }, () => resolve('answered'));
      r.on('error', (e: NodeJS.ErrnoException) => resolve(e.code ?? 'error'));
      r.end();
    });
    expect(refused).to.equal('ECONNREFUSED');
    release.resolve();
    const res = await slow;
    expect(res.statusCode).to.equal(200);
    expect(await res.body.text()).to.equal('done');
    await closed;
    expect(server.listening).to.equal(false);
    await agent.close();
    await assertNoLeaks(base);
  });

  it('destroys what is still running when the timeout passes', async () => {
    const arrived = deferred<void>();
    const { server, url } = await listen(() => arrived.resolve()); // never answers
    const outcome = new Promise<string>((resolve) => {
      const r = request(url, { agent: false }, () => resolve('answered'));
      r.on('error', (e: NodeJS.ErrnoException) => resolve(e.code ?? 'error'));
      r.end();
    });
    await arrived.promise;
    await shutdown(server, { timeout: 20 });
    expect(await outcome).to.equal('ECONNRESET');
    await assertNoLeaks(base);
  });

  it('resolves for a server that is not listening', async () => {
    await shutdown(createServer(), { timeout: 10 });
    await assertNoLeaks(base);
  });
});
