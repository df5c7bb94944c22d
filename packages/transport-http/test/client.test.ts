import type { IncomingHttpHeaders } from 'node:http';
import {
  background,
  CanceledError,
  type Context,
  DeadlineExceededError,
  DecodeError,
  withCancel,
  withTimeout,
} from '@kitts/endpoint';
import { assertNoLeaks, baseline, freePort } from '@kitts/testkit';
import { expect } from 'chai';
import { Agent } from 'undici';
import { z } from 'zod';
import {
  type ClientFinalizerInfo,
  ConnectionError,
  createClient,
  createHandler,
  encodeJSON,
  HttpError,
  isRetryable,
  jsonBody,
  jsonRequest,
  jsonResponse,
} from '../src/index.js';
import { deferred, type Running, send, serve } from './helpers.js';

const noEncode = () => {};

describe('transport-http client', () => {
  let running: Running | undefined;
  let agent: Agent;
  let base: Map<string, number>;
  beforeEach(async () => {
    base = await baseline();
    agent = new Agent();
  });
  afterEach(async () => {
    await agent.close();
    await running?.close();
    running = undefined;
    await assertNoLeaks(base);
  });

  it('sends before-hook headers, shows after hooks the response headers, decodes the body (go-kit TestHTTPClient)', async () => {
    const received = deferred<string | string[] | undefined>();
    running = await serve((req, res) => {
      received.resolve(req.headers['x-foo']);
      res.setHeader('x-the-dude', 'Abides');
      res.end('testbody');
    });
    let afterVal: unknown;
    const client = createClient('GET', running.url, noEncode, (_ctx, res) => res.body.text(), {
      dispatcher: agent,
      before: [
        (_ctx, out) => {
          out.headers['x-foo'] = 'abcde';
        },
      ],
      after: [
        (_ctx, res) => {
          afterVal = res.headers['x-the-dude'];
        },
      ],
    });
    expect(await client(background(), undefined)).to.equal('testbody');
    expect(await received.promise).to.equal('abcde');
    expect(afterVal).to.equal('Abides');
  });

  it('gives the finalizer the status and headers (go-kit TestClientFinalizer)', async () => {
    running = await serve((_req, res) => {
      res.setHeader('x-henlo-lizer', 'Helllo you stinky lizard');
      res.end('go eat a fly ugly\n');
    });
    const seen = deferred<ClientFinalizerInfo>();
    const client = createClient('GET', running.url, noEncode, (_ctx, res) => res.body.text(), {
      dispatcher: agent,
      finalizer: (_ctx, info) => seen.resolve(info),
    });
    await client(background(), undefined);
    const info = await seen.promise;
    expect(info.statusCode).to.equal(200);
    expect(info.headers?.['x-henlo-lizer']).to.equal('Helllo you stinky lizard');
    expect(info.error).to.equal(undefined);
  });

  it('encodes JSON request bodies: null, 12, 1.2, true, "test", an object (go-kit TestEncodeJSONRequest)', async () => {
    const bodies: string[] = [];
    const types: (string | undefined)[] = [];
    running = await serve((req, res) => {
      let body = '';
      req.on('data', (c: Buffer) => {
        body += c.toString();
      });
      req.on('end', () => {
        bodies.push(body);
        types.push(req.headers['content-type']);
        res.end();
      });
    });
    const client = createClient('POST', running.url, jsonRequest, () => undefined, { dispatcher: agent });
    for (const value of [null, 12, 1.2, true, 'test', { foo: 'foo' }, undefined])
      await client(background(), value);
    expect(bodies).to.deep.equal(['null', '12', '1.2', 'true', '"test"', '{"foo":"foo"}', 'null']);
    expect(new Set(types)).to.deep.equal(new Set(['application/json']));
  });

  it('lets the encoder set the method, path and query', async () => {
    const seen = deferred<string>();
    running = await serve((req, res) => {
      seen.resolve(`${req.method} ${req.url}`);
      res.end();
    });
    const client = createClient(
      'GET',
      `${running.url}/base`,
      (_ctx, req: { id: number }, out) => {
        out.method = 'DELETE';
        out.path = `${out.path}/goods/${req.id}?hard=1`;
      },
      () => 'ok',
      { dispatcher: agent },
    );
    await client(background(), { id: 5 });
    expect(await seen.promise).to.equal('DELETE /base/goods/5?hard=1');
  });

  it('turns non-2xx answers into HttpError with status, parsed body, headers and a retry classification', async () => {
    running = await serve((req, res) => {
      const status = Number(req.url?.slice(1));
      res.writeHead(status, { 'content-type': 'application/json', 'retry-after': '3' });
      res.end(JSON.stringify({ error: { code: 'X', message: `status ${status}` } }));
    });
    const url = running.url;
    const call = (status: number) =>
      createClient('GET', `${url}/${status}`, noEncode, () => 'decoded', { dispatcher: agent })(
        background(),
        undefined,
      );
    const want: Record<number, boolean> = {
      400: false,
      404: false,
      408: false,
      429: true,
      500: false,
      502: true,
      503: true,
      504: true,
    };
    for (const [status, retryable] of Object.entries(want)) {
      const err = await call(Number(status)).then(
        () => expect.fail(`status ${status} resolved`),
        (e: unknown) => e,
      );
      expect(err).to.be.instanceOf(HttpError);
      const h = err as HttpError;
      expect(h.statusCode).to.equal(Number(status));
      expect(h.retryable, `status ${status}`).to.equal(retryable);
      expect(isRetryable(h)).to.equal(retryable);
      expect(h.body).to.deep.equal({ error: { code: 'X', message: `status ${status}` } });
      expect(h.message).to.equal(`HTTP ${status}: status ${status}`);
      expect(h.responseHeaders['retry-after']).to.equal('3');
      expect(h.headers).to.deep.equal({ 'retry-after': '3' });
    }
  });

  it('keeps a text error body as text, truncated to errorBodyLimit', async () => {
    running = await serve((_req, res) => {
      res.writeHead(418, { 'content-type': 'text/plain' });
      res.end('x'.repeat(100));
    });
    const client = createClient('GET', running.url, noEncode, () => 1, { dispatcher: agent });
    const err = (await client(background(), undefined).catch((e) => e)) as HttpError;
    expect(err.body).to.equal('x'.repeat(100));
    const small = createClient('GET', running.url, noEncode, () => 1, {
      dispatcher: agent,
      errorBodyLimit: 10,
    });
    const err2 = (await small(background(), undefined).catch((e) => e)) as HttpError;
    expect(err2.statusCode).to.equal(418);
    expect(err2.body).to.equal(undefined);
  });

  it('turns a refused connection into a retryable ConnectionError', async () => {
    const port = await freePort();
    const client = createClient('GET', `http://127.0.0.1:${port}`, noEncode, () => 1, { dispatcher: agent });
    const err = await client(background(), undefined).catch((e) => e);
    expect(err).to.be.instanceOf(ConnectionError);
    expect(isRetryable(err)).to.equal(true);
    expect((err as ConnectionError).cause).to.have.property('code', 'ECONNREFUSED');
  });

  it('aborts the request when the context is cancelled, and the server sees its own context end', async () => {
    const serverSaw = deferred<unknown>();
    const arrived = deferred<void>();
    running = await serve(
      createHandler(
        (ctx: Context) =>
          new Promise((_, reject) => {
            ctx.signal.addEventListener('abort', () => {
              serverSaw.resolve(ctx.err());
              reject(ctx.err());
            });
            arrived.resolve();
          }),
        () => ({}),
        encodeJSON,
      ),
    );
    const [ctx, cancel] = withCancel(background());
    const client = createClient('GET', running.url, noEncode, () => 1, { dispatcher: agent });
    const pending = client(ctx, undefined).catch((e) => e);
    await arrived.promise;
    cancel();
    expect(await pending).to.be.instanceOf(CanceledError);
    expect(await serverSaw.promise).to.be.instanceOf(CanceledError);
  });

  it('does not send a request when the context has already ended', async () => {
    let requests = 0;
    running = await serve((_req, res) => {
      requests++;
      res.end();
    });
    const [ctx, cancel] = withCancel(background());
    cancel();
    const client = createClient('GET', running.url, noEncode, () => 1, { dispatcher: agent });
    expect(await client(ctx, undefined).catch((e) => e)).to.be.instanceOf(CanceledError);
    expect(requests).to.equal(0);
  });

  it('propagates the deadline in x-request-timeout-ms, and the kitts server adopts it', async () => {
    const seen: { header: string | string[] | undefined; deadline: number | undefined }[] = [];
    const clock = () => 5_000_000;
    running = await serve(
      createHandler(
        (ctx: Context, headers: IncomingHttpHeaders) => {
          seen.push({ header: headers['x-request-timeout-ms'], deadline: ctx.deadline });
          return Promise.resolve({});
        },
        (_ctx, req) => req.headers,
        encodeJSON,
        { context: background({ now: clock }) },
      ),
    );
    const client = createClient('GET', running.url, noEncode, () => 1, { dispatcher: agent });
    const [ctx, cancel] = withTimeout(background({ now: clock }), 1500);
    await client(ctx, undefined);
    await client(background(), undefined);
    cancel();
    expect(seen).to.deep.equal([
      { header: '1500', deadline: 5_001_500 },
      { header: undefined, deadline: undefined },
    ]);
  });

  it('forwards the request id of the request being served', async () => {
    const ids: (string | string[] | undefined)[] = [];
    const upstream = await serve((req, res) => {
      ids.push(req.headers['x-request-id']);
      res.end('"ok"');
    });
    try {
      const call = createClient('GET', upstream.url, noEncode, jsonResponse(), { dispatcher: agent });
      running = await serve(
        createHandler(
          (ctx: Context) => call(ctx, undefined),
          () => ({}),
          encodeJSON,
        ),
      );
      await send(running.url, { headers: { 'x-request-id': 'trace-7' } });
      await call(background(), undefined);
      expect(ids).to.deep.equal(['trace-7', undefined]);
    } finally {
      await upstream.close();
    }
  });

  it('ends with DeadlineExceededError when the deadline passes first', async () => {
    const arrived = deferred<void>();
    running = await serve(() => arrived.resolve()); // never answers
    const client = createClient('GET', running.url, noEncode, () => 1, { dispatcher: agent });
    const [ctx, cancel] = withTimeout(background(), 30);
    const err = await client(ctx, undefined).catch((e) => e);
    cancel();
    await arrived.promise;
    expect(err).to.be.instanceOf(DeadlineExceededError);
  });

  it('checks a JSON response against a schema; a mismatch is a DecodeError (502) naming the path', async () => {
    running = await serve((req, res) => {
      res.setHeader('content-type', 'application/json');
      res.end(req.url === '/good' ? '{"id":1,"name":"tea"}' : req.url === '/bad' ? '{"id":"1"}' : '{"id":');
    });
    const Good = z.object({ id: z.number(), name: z.string() });
    const call = (path: string) =>
      createClient('GET', `${running!.url}${path}`, noEncode, jsonResponse(Good), { dispatcher: agent })(
        background(),
        undefined,
      );
    expect(await call('/good')).to.deep.equal({ id: 1, name: 'tea' });
    const bad = (await call('/bad').catch((e) => e)) as DecodeError;
    expect(bad).to.be.instanceOf(DecodeError);
    expect(bad.statusCode).to.equal(502);
    expect(bad.issues.map((i) => i.path)).to.deep.equal(['$.id', '$.name']);
    const malformed = (await call('/broken').catch((e) => e)) as DecodeError;
    expect(malformed).to.be.instanceOf(DecodeError);
    expect(malformed.message).to.match(/^malformed JSON response/);
  });

  it('round-trips kitts client -> kitts server, with a 400 from the server as an HttpError that names the path', async () => {
    const Req = z.object({ a: z.number(), b: z.number() });
    running = await serve(
      createHandler(
        (_ctx: Context, r: { a: number; b: number }) => Promise.resolve({ sum: r.a + r.b }),
        jsonBody(Req),
        encodeJSON,
      ),
    );
    const add = createClient('POST', running.url, jsonRequest, jsonResponse(z.object({ sum: z.number() })), {
      dispatcher: agent,
    });
    expect(await add(background(), { a: 2, b: 3 })).to.deep.equal({ sum: 5 });
    const err = (await add(background(), { a: 2 }).catch((e) => e)) as HttpError;
    expect(err.statusCode).to.equal(400);
    expect(err.retryable).to.equal(false);
    expect(err.message).to.match(/\$\.b/);
  });

  it('works on the default dispatcher and closes nothing it does not own', async () => {
    running = await serve((_req, res) => res.end('"ok"'));
    const client = createClient('GET', running.url, noEncode, jsonResponse());
    expect(await client(background(), undefined)).to.equal('ok');
  });

  it('refuses a target that is not an http(s) URL', () => {
    expect(() => createClient('GET', 'ftp://x', noEncode, () => 1)).to.throw(TypeError, /http\(s\) URL/);
  });
});
