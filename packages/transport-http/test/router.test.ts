import type { Context } from '@kitts/endpoint';
import { assertNoLeaks, baseline } from '@kitts/testkit';
import { expect } from 'chai';
import { z } from 'zod';
import {
  createHandler,
  createRouter,
  encodeJSON,
  jsonBody,
  pathParams,
  pathParamsKey,
} from '../src/index.js';
import { postJSON, type Running, send, serve } from './helpers.js';

describe('transport-http router', () => {
  let running: Running;
  let base: Map<string, number>;
  before(async () => {
    base = await baseline();
    const getGood = createHandler(
      (_ctx: Context, req: { id: number }) => Promise.resolve({ id: req.id, name: `good ${req.id}` }),
      pathParams(z.object({ id: z.coerce.number().int().positive() })),
      encodeJSON,
    );
    const putGood = createHandler(
      (ctx: Context, req: { name: string }) =>
        Promise.resolve({ id: ctx.value(pathParamsKey)?.id, name: req.name }),
      jsonBody(z.object({ name: z.string() })),
      encodeJSON,
    );
    const file = createHandler(
      (ctx: Context) => Promise.resolve({ path: ctx.value(pathParamsKey)?.['*'] }),
      () => ({}),
      encodeJSON,
    );
    running = await serve(
      createRouter([
        { method: 'GET', path: '/goods/:id', handler: getGood },
        { method: ['PUT', 'PATCH'], path: '/goods/:id', handler: putGood },
        { method: 'GET', path: '/files/*', handler: file },
      ]),
    );
  });
  after(async () => {
    await running.close();
    await assertNoLeaks(base);
  });

  it('routes by method and path and hands path parameters to decoders', async () => {
    expect((await send(`${running.url}/goods/7`)).json).to.deep.equal({ id: 7, name: 'good 7' });
    expect((await postJSON(`${running.url}/goods/7`, { name: 'x' })).status).to.equal(405);
    const put = await send(`${running.url}/goods/9`, {
      method: 'PUT',
      headers: { 'content-type': 'application/json' },
      body: '{"name":"tea"}',
    });
    expect(put.json).to.deep.equal({ id: '9', name: 'tea' });
    expect((await send(`${running.url}/files/a/b.txt`)).json).to.deep.equal({ path: 'a/b.txt' });
  });

  it('ignores the query string when matching', async () => {
    expect((await send(`${running.url}/goods/3?verbose=1`)).json).to.deep.equal({ id: 3, name: 'good 3' });
  });

  it('answers HEAD for GET routes, without a body', async () => {
    const have = await send(`${running.url}/goods/7`, { method: 'HEAD' });
    expect(have.status).to.equal(200);
    expect(have.text).to.equal('');
  });

  it('answers 404 as a JSON error', async () => {
    const have = await send(`${running.url}/nowhere?x=1`);
    expect(have.status).to.equal(404);
    expect(have.json).to.deep.equal({ error: { code: 'NOT_FOUND', message: 'no route for GET /nowhere' } });
  });

  it('answers 405 with Allow listing the methods the path has', async () => {
    const have = await send(`${running.url}/goods/7`, { method: 'DELETE' });
    expect(have.status).to.equal(405);
    expect(have.headers.allow).to.equal('GET, HEAD, PATCH, PUT');
    expect(have.json.error.code).to.equal('METHOD_NOT_ALLOWED');
    expect(have.json.error.message).to.equal(
      'DELETE is not allowed on /goods/7; allowed: GET, HEAD, PATCH, PUT',
    );
  });

  it('answers 400 to a bad path parameter and to a malformed URL', async () => {
    const bad = await send(`${running.url}/goods/0`);
    expect(bad.status).to.equal(400);
    expect(bad.json.error.issues[0].path).to.equal('$.id');
    const malformed = await send(`${running.url}/goods/%E0%A4%A`);
    expect(malformed.status).to.equal(400);
    expect(malformed.json.error.code).to.equal('BAD_REQUEST');
  });

  it('refuses a duplicate route at creation', () => {
    const h = createHandler(
      () => Promise.resolve({}),
      () => ({}),
      encodeJSON,
    );
    expect(() =>
      createRouter([
        { method: 'GET', path: '/a', handler: h },
        { method: 'GET', path: '/a', handler: h },
      ]),
    ).to.throw(/already declared/);
  });
});
