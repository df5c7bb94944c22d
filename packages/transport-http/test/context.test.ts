import { request } from 'node:http';
import { background, type Context } from '@kitts/endpoint';
import { assertNoLeaks, baseline } from '@kitts/testkit';
import { expect } from 'chai';
import {
  createHandler,
  type DecodeRequestFunc,
  encodeJSON,
  type FinalizerInfo,
  type HttpHandler,
  remoteAddress,
  requestHeaders,
  requestId,
  requestMethod,
  requestPath,
} from '../src/index.js';
import { deferred, type Running, send, serve } from './helpers.js';

const noDecode: DecodeRequestFunc<unknown> = () => ({});

describe('transport-http server: the request context', () => {
  let running: Running | undefined;
  let base: Map<string, number>;
  beforeEach(async () => {
    base = await baseline();
  });
  afterEach(async () => {
    await running?.close();
    running = undefined;
    await assertNoLeaks(base);
  });
  const start = async (h: HttpHandler) => {
    running = await serve(h);
    return running.url;
  };

  it('aborts ctx.signal when the client disconnects, and answers nothing', async () => {
    const aborted = deferred<unknown>();
    const finalized = deferred<FinalizerInfo>();
    const entered = deferred<void>();
    const endpoint = (ctx: Context) =>
      new Promise<never>((_, reject) => {
        ctx.signal.addEventListener('abort', () => {
          aborted.resolve(ctx.err());
          reject(ctx.err());
        });
        entered.resolve();
      });
    const url = await start(
      createHandler(endpoint, noDecode, encodeJSON, { finalizer: (_c, info) => finalized.resolve(info) }),
    );
    const req = request(url, { agent: false });
    req.on('error', () => {});
    req.end();
    await entered.promise;
    req.destroy();
    const err = (await aborted.promise) as Error;
    expect(err.name).to.equal('CanceledError');
    const info = await finalized.promise;
    expect(info.statusCode).to.equal(499);
    expect(info.error).to.equal(err);
  });

  it('reads the deadline from x-request-timeout-ms against the injected clock', async () => {
    const seen: (number | undefined)[] = [];
    const clock = background({ now: () => 1_000_000 });
    const url = await start(
      createHandler(
        (ctx) => {
          seen.push(ctx.deadline);
          return Promise.resolve({});
        },
        noDecode,
        encodeJSON,
        { context: clock },
      ),
    );
    await send(url, { headers: { 'x-request-timeout-ms': '250' } });
    await send(url, { headers: { 'x-request-timeout-ms': 'soon' } });
    await send(url, { headers: { 'x-request-timeout-ms': '-5' } });
    await send(url);
    expect(seen).to.deep.equal([1_000_250, undefined, undefined, undefined]);
  });

  it('ignores the timeout header when timeoutHeader is false, and reads a custom one', async () => {
    const seen: (number | undefined)[] = [];
    const clock = background({ now: () => 0 });
    const endpoint = (ctx: Context) => {
      seen.push(ctx.deadline);
      return Promise.resolve({});
    };
    const h1 = createHandler(endpoint, noDecode, encodeJSON, { context: clock, timeoutHeader: false });
    const h2 = createHandler(endpoint, noDecode, encodeJSON, {
      context: clock,
      timeoutHeader: 'Grpc-Timeout-Ms',
    });
    const url = await start((req, res) => (req.url === '/1' ? h1 : h2)(req, res));
    await send(`${url}/1`, { headers: { 'x-request-timeout-ms': '7' } });
    await send(`${url}/2`, { headers: { 'grpc-timeout-ms': '9' } });
    expect(seen).to.deep.equal([undefined, 9]);
  });

  it('puts method, path, headers, remote address and request id in the context', async () => {
    const seen: unknown[] = [];
    const url = await start(
      createHandler(
        (ctx) => {
          seen.push({
            method: ctx.value(requestMethod),
            path: ctx.value(requestPath),
            agent: ctx.value(requestHeaders)?.['x-agent'],
            remote: ctx.value(remoteAddress),
            id: ctx.value(requestId),
          });
          return Promise.resolve({});
        },
        noDecode,
        encodeJSON,
      ),
    );
    await send(`${url}/goods/1?x=2`, {
      method: 'DELETE',
      headers: { 'x-agent': 'test', 'x-request-id': 'r-1' },
    });
    await send(url);
    expect(seen[0]).to.deep.equal({
      method: 'DELETE',
      path: '/goods/1',
      agent: 'test',
      remote: '127.0.0.1',
      id: 'r-1',
    });
    expect((seen[1] as { id: string }).id).to.match(/^[0-9a-f-]{36}$/);
  });

  it('leaves the context bare when populate is false', async () => {
    const seen: unknown[] = [];
    const url = await start(
      createHandler(
        (ctx) => {
          seen.push(ctx.value(requestMethod));
          return Promise.resolve({});
        },
        noDecode,
        encodeJSON,
        { populate: false },
      ),
    );
    await send(url);
    expect(seen).to.deep.equal([undefined]);
  });
});
