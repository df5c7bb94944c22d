import type { ServerResponse } from 'node:http';
import { background, type Context, key, nop, withValue } from '@kitts/endpoint';
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
const noEncode = () => {};

describe('transport-http server (go-kit server cases)', () => {
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

  it('answers 500 with a JSON error that hides the message when the endpoint fails', async () => {
    const url = await start(
      createHandler(() => Promise.reject(new Error('dang: db at 10.0.0.7 refused')), noDecode, noEncode),
    );
    const have = await send(url);
    expect(have.status).to.equal(500);
    expect(have.headers['content-type']).to.match(/^application\/json/);
    expect(have.json).to.deep.equal({
      error: { code: 'INTERNAL_SERVER_ERROR', message: 'Internal Server Error' },
    });
    expect(have.text).not.to.include('dang');
  });

  it('sends the 500 message when exposeErrors is set', async () => {
    const url = await start(
      createHandler(() => Promise.reject(new Error('dang')), noDecode, noEncode, { exposeErrors: true }),
    );
    const have = await send(url);
    expect(have.status).to.equal(500);
    expect(have.json.error.message).to.equal('dang');
  });

  it('answers 400 when the decoder fails with an error that has no status', async () => {
    const url = await start(
      createHandler(
        nop,
        () => {
          throw new Error('dang');
        },
        noEncode,
      ),
    );
    const have = await send(url);
    expect(have.status).to.equal(400);
    expect(have.json).to.deep.equal({ error: { code: 'DECODE', message: 'dang' } });
  });

  it('answers 500 when the encoder fails before writing', async () => {
    const url = await start(
      createHandler(nop, noDecode, () => {
        throw new Error('dang');
      }),
    );
    expect((await send(url)).status).to.equal(500);
  });

  it('answers 500 when the response cannot be serialised (BigInt), through encodeJSON', async () => {
    const url = await start(createHandler(() => Promise.resolve({ n: 1n }), noDecode, encodeJSON));
    expect((await send(url)).status).to.equal(500);
  });

  it('uses a custom error encoder (418)', async () => {
    const teapot = new Error('teapot');
    const url = await start(
      createHandler(() => Promise.reject(teapot), noDecode, noEncode, {
        errorEncoder: (_ctx, err, res) => {
          res.writeHead(err === teapot ? 418 : 500);
          res.end();
        },
      }),
    );
    expect((await send(url)).status).to.equal(418);
  });

  it('answers 200 on the happy path', async () => {
    const url = await start(createHandler(() => Promise.resolve({ ok: true }), noDecode, encodeJSON));
    const have = await send(url);
    expect(have.status).to.equal(200);
    expect(have.json).to.deep.equal({ ok: true });
  });

  it('threads the context through several before hooks', async () => {
    const one = key<number>('one');
    const seen = deferred<number | undefined>();
    const url = await start(
      createHandler(nop, noDecode, encodeJSON, {
        before: [(ctx) => withValue(ctx, one, 1), (ctx) => void seen.resolve(ctx.value(one))],
      }),
    );
    await send(url);
    expect(await seen.promise).to.equal(1);
  });

  it('threads the context through several after hooks', async () => {
    const one = key<number>('one');
    const seen = deferred<number | undefined>();
    const url = await start(
      createHandler(nop, noDecode, encodeJSON, {
        after: [(ctx) => withValue(ctx, one, 1), (ctx) => void seen.resolve(ctx.value(one))],
      }),
    );
    await send(url);
    expect(await seen.promise).to.equal(1);
  });

  it('runs the after hooks when the endpoint fails, with the error (go-kit 985)', async () => {
    const boom = new Error('boom');
    const seen = deferred<unknown>();
    const url = await start(
      createHandler(() => Promise.reject(boom), noDecode, encodeJSON, {
        after: [
          (_ctx, res, err) => {
            res.setHeader('x-after', 'ran');
            seen.resolve(err);
          },
        ],
      }),
    );
    const have = await send(url);
    expect(await seen.promise).to.equal(boom);
    expect(have.headers['x-after']).to.equal('ran');
  });

  it('gives the finalizer the status, the headers and the body size (418, 18 bytes)', async () => {
    const done = deferred<FinalizerInfo>();
    const body = 'go eat a fly ugly\n';
    const url = await start(
      createHandler(
        nop,
        noDecode,
        (_ctx, res: ServerResponse) => {
          res.setHeader('x-henlo-lizer', 'Helllo you stinky lizard');
          res.writeHead(418);
          res.write(body.slice(0, 5));
          res.end(Buffer.from(body.slice(5)));
        },
        {
          finalizer: (_ctx, info) => done.resolve(info),
        },
      ),
    );
    await send(url);
    expect(await done.promise).to.deep.equal({ statusCode: 418, size: 18, error: undefined });
  });

  it('lets the finalizer read the response headers that were sent', async () => {
    const done = deferred<unknown>();
    let response: ServerResponse | undefined;
    const url = await start(
      createHandler(
        nop,
        noDecode,
        (_ctx, res) => {
          response = res;
          res.setHeader('x-henlo-lizer', 'Helllo you stinky lizard');
          res.end();
        },
        { finalizer: () => done.resolve(response?.getHeader('x-henlo-lizer')) },
      ),
    );
    await send(url);
    expect(await done.promise).to.equal('Helllo you stinky lizard');
  });

  it('encodes statusCode and headers() of a response (402, X-Edward)', async () => {
    class Enhanced {
      foo = 'bar';
      statusCode() {
        return 402;
      }
      headers() {
        return { 'x-edward': 'Snowden' };
      }
    }
    const url = await start(createHandler(() => Promise.resolve(new Enhanced()), noDecode, encodeJSON));
    const have = await send(url);
    expect(have.status).to.equal(402);
    expect(have.headers['x-edward']).to.equal('Snowden');
    expect(have.text).to.equal('{"foo":"bar"}');
  });

  it('adds a header with several values', async () => {
    const url = await start(
      createHandler(
        () => Promise.resolve({ headers: () => ({ vary: ['Origin', 'User-Agent'] }) }),
        noDecode,
        encodeJSON,
      ),
    );
    const have = await send(url);
    expect(have.headers.vary).to.equal('Origin, User-Agent');
  });

  it('writes no body for 204', async () => {
    const url = await start(
      createHandler(() => Promise.resolve({ statusCode: 204, x: 1 }), noDecode, encodeJSON),
    );
    const have = await send(url);
    expect(have.status).to.equal(204);
    expect(have.text).to.equal('');
  });

  it("answers an error's statusCode and headers (418, X-Enhanced)", async () => {
    const err = Object.assign(new Error('enhanced error'), {
      statusCode: 418,
      headers: { 'x-enhanced': '1' },
    });
    const url = await start(createHandler(() => Promise.reject(err), noDecode, noEncode));
    const have = await send(url);
    expect(have.status).to.equal(418);
    expect(have.headers['x-enhanced']).to.equal('1');
    expect(have.json).to.deep.equal({ error: { code: 'I_M_A_TEAPOT', message: 'enhanced error' } });
  });

  it('never writes headers twice: an encoder that fails after writing cuts the response short', async () => {
    const errors: unknown[] = [];
    const url = await start(
      createHandler(
        nop,
        noDecode,
        (_ctx, res) => {
          res.writeHead(200, { 'content-length': '100' });
          res.write('partial');
          throw new Error('encoder broke mid-body');
        },
        { errorHandler: (_ctx, err) => errors.push(err) },
      ),
    );
    const failed = await send(url).then(
      () => false,
      () => true,
    );
    expect(failed, 'the client must not see a complete response').to.equal(true);
    expect(errors.map((e) => (e as Error).message)).to.deep.equal(['encoder broke mid-body']);
  });

  it('never writes headers twice: an error encoder that throws falls back to a plain 500', async () => {
    const errors: unknown[] = [];
    const url = await start(
      createHandler(() => Promise.reject(new Error('first')), noDecode, noEncode, {
        errorEncoder: () => {
          throw new Error('second');
        },
        errorHandler: (_ctx, err) => errors.push(err),
      }),
    );
    const have = await send(url);
    expect(have.status).to.equal(500);
    expect(have.json.error.code).to.equal('INTERNAL_SERVER_ERROR');
    expect(errors.map((e) => (e as Error).message)).to.deep.equal(['first', 'second']);
  });

  it('survives hooks, finalizers and error handlers that throw', async () => {
    const url = await start(
      createHandler(nop, noDecode, encodeJSON, {
        after: [
          () => {
            throw new Error('after broke');
          },
        ],
        finalizer: () => {
          throw new Error('finalizer broke');
        },
        errorHandler: () => {
          throw new Error('logger broke');
        },
      }),
    );
    const have = await send(url);
    expect(have.status).to.equal(500);
    expect((await send(url)).status, 'still serving').to.equal(500);
  });

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
    const { request } = await import('node:http');
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
