import type { Server } from 'node:http';
import type { Context } from '@kitts/endpoint';
import { assertNoLeaks, baseline } from '@kitts/testkit';
import { expect } from 'chai';
import express from 'express';
import Fastify from 'fastify';
import { z } from 'zod';
import { createHandler, encodeJSON, jsonBody, pathParams, shutdown } from '../src/index.js';
import { postJSON, send, serve } from './helpers.js';

const Greeting = z.object({ name: z.string() });
const greet = (_ctx: Context, req: { name: string }) => Promise.resolve({ greeting: `hello, ${req.name}` });
const handler = () => createHandler(greet, jsonBody(Greeting), encodeJSON);

const GoodsParams = z.object({ id: z.coerce.number().int() });
const goods = () =>
  createHandler(
    (_ctx: Context, req: { id: number }) => Promise.resolve({ id: req.id }),
    pathParams(GoodsParams),
    encodeJSON,
  );

/** The same assertions for every way of mounting the handler. */
async function expectServes(url: string): Promise<void> {
  const ok = await postJSON(`${url}/greet`, { name: 'ada' });
  expect(ok.status).to.equal(200);
  expect(ok.json).to.deep.equal({ greeting: 'hello, ada' });
  const bad = await postJSON(`${url}/greet`, { name: 7 });
  expect(bad.status).to.equal(400);
  expect(bad.json.error.issues[0].path).to.equal('$.name');
  const params = await send(`${url}/goods/42`);
  expect(params.json).to.deep.equal({ id: 42 });
  const badParams = await send(`${url}/goods/x`);
  expect(badParams.status).to.equal(400);
  expect(badParams.json.error.message).to.match(/^invalid path parameters: \$\.id/);
}

describe('transport-http handlers mounted on node:http, Express and Fastify', () => {
  let base: Map<string, number>;
  beforeEach(async () => {
    base = await baseline();
  });
  afterEach(() => assertNoLeaks(base));

  it('serves on a bare node:http server', async () => {
    const g = handler();
    const gd = goods();
    const running = await serve((req, res) => {
      const m = /^\/goods\/([^/?]+)/.exec(req.url ?? '');
      if (m) gd(req, res, { id: m[1] });
      else g(req, res);
    });
    try {
      await expectServes(running.url);
    } finally {
      await running.close();
    }
  });

  it('serves as Express middleware, with Express route parameters', async () => {
    const app = express();
    app.post('/greet', handler());
    app.get('/goods/:id', goods());
    const server: Server = await new Promise((resolve) => {
      const s = app.listen(0, '127.0.0.1', () => resolve(s));
    });
    try {
      const addr = server.address();
      await expectServes(`http://127.0.0.1:${typeof addr === 'object' && addr ? addr.port : 0}`);
    } finally {
      await shutdown(server, { timeout: 1000 });
    }
  });

  it('serves under Fastify through the raw request and response', async () => {
    const app = Fastify();
    // Leave the body stream to kitts' decoder: Fastify must not parse it first.
    app.removeAllContentTypeParsers();
    app.addContentTypeParser('*', (_req, _payload, done) => done(null));
    const g = handler();
    const gd = goods();
    app.post('/greet', (request, reply) => {
      reply.hijack();
      g(request.raw, reply.raw);
    });
    app.get('/goods/:id', (request, reply) => {
      reply.hijack();
      gd(request.raw, reply.raw, request.params);
    });
    const address = await app.listen({ port: 0, host: '127.0.0.1' });
    try {
      await expectServes(address);
    } finally {
      await app.close();
    }
  });
});
