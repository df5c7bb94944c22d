import { request } from 'node:http';
import type { Context } from '@kitts/endpoint';
import { assertNoLeaks, baseline } from '@kitts/testkit';
import { expect } from 'chai';
import * as t from 'io-ts';
import { z } from 'zod';
import {
  createHandler,
  encodeJSON,
  type FinalizerInfo,
  type HttpHandler,
  jsonBody,
  query,
  type StandardSchemaV1,
} from '../src/index.js';
import { deferred, postJSON, type Running, send, serve } from './helpers.js';

const echo = <T>(_ctx: Context, req: T) => Promise.resolve(req);

const Order = z.object({
  name: z.string().min(1),
  count: z.int().positive(),
  tags: z.array(z.string()).optional(),
});
const OrderIoTs = t.type({
  name: t.string,
  count: t.number,
  tags: t.union([t.array(t.string), t.undefined]),
});

describe('transport-http decoders', () => {
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

  describe('jsonBody with a Standard Schema validator (zod)', () => {
    it('decodes a valid body', async () => {
      const url = await start(createHandler(echo, jsonBody(Order), encodeJSON));
      const have = await postJSON(url, { name: 'tea', count: 2 });
      expect(have.status).to.equal(200);
      expect(have.json).to.deep.equal({ name: 'tea', count: 2 });
    });

    it('answers 400 naming every failing path and what was expected', async () => {
      const url = await start(createHandler(echo, jsonBody(Order), encodeJSON));
      const have = await postJSON(url, { name: '', count: 'two', tags: ['a', 3] });
      expect(have.status).to.equal(400);
      expect(have.json.error.code).to.equal('DECODE');
      const paths = have.json.error.issues.map((i: { path: string }) => i.path);
      expect(paths).to.have.members(['$.name', '$.count', '$.tags[1]']);
      for (const p of paths) expect(have.json.error.message).to.include(p);
      expect(have.json.error.message).to.match(/^invalid request body: /);
    });

    it('accepts application/*+json and a utf-8 charset', async () => {
      const url = await start(createHandler(echo, jsonBody(Order), encodeJSON));
      const body = JSON.stringify({ name: 'a', count: 1 });
      const a = await send(url, {
        method: 'POST',
        headers: { 'content-type': 'application/vnd.api+json' },
        body,
      });
      const b = await send(url, {
        method: 'POST',
        headers: { 'content-type': 'Application/JSON; Charset="UTF-8"' },
        body,
      });
      expect([a.status, b.status]).to.deep.equal([200, 200]);
    });

    it('supports async Standard Schema validators', async () => {
      const asyncSchema: StandardSchemaV1<unknown, number> = {
        '~standard': {
          version: 1,
          vendor: 'test',
          validate: async (v) =>
            typeof v === 'number'
              ? { value: v * 2 }
              : { issues: [{ message: 'expected a number', path: [] }] },
        },
      };
      const url = await start(createHandler(echo, jsonBody(asyncSchema), encodeJSON));
      expect((await postJSON(url, 21)).json).to.equal(42);
      const bad = await postJSON(url, 'x');
      expect(bad.status).to.equal(400);
      expect(bad.json.error.message).to.equal('invalid request body: $: expected a number');
    });
  });

  describe('jsonBody with an io-ts codec', () => {
    it('decodes a valid body', async () => {
      const url = await start(createHandler(echo, jsonBody(OrderIoTs), encodeJSON));
      expect((await postJSON(url, { name: 'tea', count: 2 })).json).to.deep.equal({ name: 'tea', count: 2 });
    });

    it('answers 400 naming each failing path once, with the expected type', async () => {
      const url = await start(createHandler(echo, jsonBody(OrderIoTs), encodeJSON));
      const have = await postJSON(url, { name: 5, tags: ['a', 3] });
      expect(have.status).to.equal(400);
      expect(have.json.error.issues).to.deep.equal([
        { path: '$.name', message: 'expected string, got 5' },
        { path: '$.count', message: 'expected number, got undefined' },
        { path: '$.tags[1]', message: 'expected string, got 3' },
        { path: '$.tags', message: 'expected (Array<string> | undefined), got an array' },
      ]);
    });
  });

  describe('untrusted input', () => {
    const cases: {
      what: string;
      headers: Record<string, string>;
      body: string;
      status: number;
      code: string;
    }[] = [
      { what: 'no content type', headers: {}, body: '{}', status: 415, code: 'UNSUPPORTED_MEDIA_TYPE' },
      {
        what: 'text/plain',
        headers: { 'content-type': 'text/plain' },
        body: '{}',
        status: 415,
        code: 'UNSUPPORTED_MEDIA_TYPE',
      },
      {
        what: 'a latin-1 charset',
        headers: { 'content-type': 'application/json; charset=iso-8859-1' },
        body: '{}',
        status: 415,
        code: 'UNSUPPORTED_MEDIA_TYPE',
      },
      {
        what: 'gzip content',
        headers: { 'content-type': 'application/json', 'content-encoding': 'gzip' },
        body: '{}',
        status: 415,
        code: 'UNSUPPORTED_MEDIA_TYPE',
      },
      {
        what: 'malformed JSON',
        headers: { 'content-type': 'application/json' },
        body: '{"name":',
        status: 400,
        code: 'DECODE',
      },
      {
        what: 'an empty body',
        headers: { 'content-type': 'application/json' },
        body: '',
        status: 400,
        code: 'DECODE',
      },
    ];
    for (const c of cases) {
      it(`answers ${c.status} to ${c.what}`, async () => {
        const url = await start(createHandler(echo, jsonBody(Order), encodeJSON));
        const have = await send(url, { method: 'POST', headers: c.headers, body: c.body });
        expect(have.status).to.equal(c.status);
        expect(have.json.error.code).to.equal(c.code);
        expect(have.json.error.message).to.be.a('string').and.not.equal('');
      });
    }

    it('answers 413 from the declared length without reading the body', async () => {
      const url = await start(createHandler(echo, jsonBody(Order, { limit: 1024 }), encodeJSON));
      // Declare 10 MB, send none of it: the answer must come before any body.
      const answer = await new Promise<{ status: number; connection: string | undefined }>(
        (resolve, reject) => {
          const req = request(url, {
            method: 'POST',
            agent: false,
            headers: { 'content-type': 'application/json', 'content-length': 10_000_000 },
          });
          req.on('response', (res) => {
            res.resume();
            resolve({ status: res.statusCode ?? 0, connection: res.headers.connection });
            req.destroy();
          });
          req.on('error', reject);
          req.flushHeaders();
        },
      );
      expect(answer).to.deep.equal({ status: 413, connection: 'close' });
    });

    it('answers 413 to a chunked body as soon as it passes the limit, before it ends', async () => {
      const url = await start(createHandler(echo, jsonBody(Order, { limit: 1024 }), encodeJSON));
      const answer = await new Promise<{ status: number; body: string }>((resolve, reject) => {
        const req = request(url, {
          method: 'POST',
          agent: false,
          headers: { 'content-type': 'application/json' },
        });
        req.on('response', (res) => {
          let body = '';
          res.on('data', (c: Buffer) => {
            body += c.toString();
          });
          res.on('end', () => {
            resolve({ status: res.statusCode ?? 0, body });
            req.destroy();
          });
        });
        req.on('error', reject);
        req.write(`[${'1,'.repeat(1000)}`); // 2 KiB of a body that never ends
      });
      expect(answer.status).to.equal(413);
      expect(JSON.parse(answer.body).error.code).to.equal('PAYLOAD_TOO_LARGE');
    });

    it('makes no response attempt and raises nothing when the upload is aborted', async () => {
      const finalized = deferred<FinalizerInfo>();
      const errors: unknown[] = [];
      let endpointCalled = false;
      const reading = deferred<void>();
      const decode = jsonBody(Order);
      const url = await start(
        createHandler(
          (ctx, req) => {
            endpointCalled = true;
            return echo(ctx, req);
          },
          (ctx, req) => {
            reading.resolve();
            return decode(ctx, req);
          },
          encodeJSON,
          {
            finalizer: (_ctx, info) => finalized.resolve(info),
            errorHandler: (_ctx, err) => errors.push(err),
          },
        ),
      );
      const req = request(url, {
        method: 'POST',
        agent: false,
        headers: { 'content-type': 'application/json', 'content-length': 1000 },
      });
      req.on('error', () => {});
      req.write('{"name":"half');
      await reading.promise;
      req.destroy();
      const info = await finalized.promise;
      expect(endpointCalled).to.equal(false);
      expect(info.statusCode).to.equal(499);
      expect((info.error as Error).name).to.equal('CanceledError');
      expect(errors).to.have.length(1);
    });
  });

  describe('query', () => {
    it('decodes the query string with coercion and repeated keys', async () => {
      const Q = z.object({ page: z.coerce.number().int().min(1), tag: z.array(z.string()).optional() });
      const url = await start(createHandler(echo, query(Q), encodeJSON));
      const have = await send(`${url}/?page=3&tag=a&tag=b&__proto__=x`);
      expect(have.json).to.deep.equal({ page: 3, tag: ['a', 'b'] });
      const bad = await send(`${url}/?page=zero`);
      expect(bad.status).to.equal(400);
      expect(bad.json.error.issues.map((i: { path: string }) => i.path)).to.deep.equal(['$.page']);
      expect(bad.json.error.message).to.match(/^invalid query: \$\.page: /);
    });
  });

  it('refuses a schema that is neither io-ts nor Standard Schema, at creation', () => {
    expect(() => jsonBody({ parse: () => 1 } as never)).to.throw(
      TypeError,
      /io-ts codec or a Standard Schema/,
    );
    expect(() => jsonBody(Order, { limit: -1 })).to.throw(TypeError, /limit/);
  });
});
