import type { ServerResponse } from 'node:http';
import { key, nop, withValue } from '@kitts/endpoint';
import { assertNoLeaks, baseline } from '@kitts/testkit';
import { expect } from 'chai';
import {
  createHandler,
  type DecodeRequestFunc,
  encodeJSON,
  type FinalizerInfo,
  type HttpHandler,
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
});
