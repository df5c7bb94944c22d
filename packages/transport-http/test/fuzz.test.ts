import { type Context, statusCodeOf } from '@kitts/endpoint';
import { assertNoLeaks, baseline } from '@kitts/testkit';
import { expect } from 'chai';
import fc from 'fast-check';
import { Pool } from 'undici';
import { z } from 'zod';
import { createHandler, encodeJSON, jsonBody } from '../src/index.js';
import { type Running, serve } from './helpers.js';

const Order = z.object({ name: z.string().min(1), count: z.int().positive() });
const valid = fc.record({
  name: fc.string({ minLength: 1, maxLength: 20 }),
  count: fc.integer({ min: 1, max: 1e6 }),
});
const JSON_TYPE = { 'content-type': 'application/json' };

interface Bad {
  kind: string;
  body: string | Buffer;
  headers: Record<string, string>;
}

/** Requests that are wrong by construction, each in a way a client could get wrong. */
const badRequests: fc.Arbitrary<Bad> = fc.oneof(
  fc.string({ maxLength: 300 }).map((body) => ({ kind: 'random text', body, headers: JSON_TYPE })),
  fc
    .uint8Array({ maxLength: 300 })
    .map((b) => ({ kind: 'random bytes', body: Buffer.from(b), headers: JSON_TYPE })),
  fc.tuple(valid, fc.nat()).map(([o, n]) => {
    const s = JSON.stringify(o);
    return { kind: 'truncated JSON', body: s.slice(0, n % s.length), headers: JSON_TYPE };
  }),
  fc
    .tuple(fc.integer({ min: 1_000, max: 20_000 }), fc.constantFrom('array', 'object', 'unclosed'))
    .map(([n, shape]) => ({
      kind: `deep nesting (${shape})`,
      body:
        shape === 'array'
          ? `${'['.repeat(n)}${']'.repeat(n)}`
          : shape === 'object'
            ? `${'{"a":'.repeat(n)}1${'}'.repeat(n)}`
            : '['.repeat(n),
      headers: JSON_TYPE,
    })),
  fc
    .constantFrom('1e400', '-1e400', '123456789012345678901234567890', '1e-400', '-0', '0.5')
    .map((count) => ({
      kind: 'huge or odd number',
      body: `{"name":"a","count":${count}}`,
      headers: JSON_TYPE,
    })),
  fc
    .record({ name: fc.anything(), count: fc.anything() }, { requiredKeys: [] })
    .filter((v) => !Order.safeParse(JSON.parse(JSON.stringify(v))).success)
    .map((v) => ({ kind: 'wrong types', body: JSON.stringify(v), headers: JSON_TYPE })),
  fc
    .tuple(
      valid,
      fc.constantFrom(
        'text/plain',
        'application/xml',
        'application/x-www-form-urlencoded',
        'multipart/form-data; boundary=x',
        'application/json; charset=latin1',
        'application/jsonx',
        'json',
      ),
    )
    .map(([o, type]) => ({
      kind: 'wrong content type',
      body: JSON.stringify(o),
      headers: { 'content-type': type },
    })),
  valid.map((o) => ({
    kind: 'no content type',
    body: JSON.stringify(o),
    headers: {} as Record<string, string>,
  })),
);

describe('transport-http fuzz: malformed input against a real server', () => {
  let running: Running;
  let pool: Pool;
  let base: Map<string, number>;
  const answered: number[] = [];
  before(async () => {
    base = await baseline();
    running = await serve(
      createHandler(
        (_ctx: Context, order: unknown) => Promise.resolve(order),
        jsonBody(Order, { limit: 256 * 1024 }),
        encodeJSON,
        {
          errorHandler: (_ctx, err) => answered.push(statusCodeOf(err)),
        },
      ),
    );
    pool = new Pool(running.url, { connections: 4 });
  });
  after(async () => {
    await pool.close();
    await running.close();
    await assertNoLeaks(base);
  });

  it('answers every malformed request with a 4xx JSON error, and keeps serving', async () => {
    await fc.assert(
      fc.asyncProperty(badRequests, async (bad) => {
        const res = await pool.request({ path: '/', method: 'POST', headers: bad.headers, body: bad.body });
        const text = await res.body.text();
        expect([400, 415], `${bad.kind}: ${text}`).to.include(res.statusCode);
        expect(res.headers['content-type']).to.match(/^application\/json/);
        const json = JSON.parse(text);
        expect(json.error.code).to.be.a('string');
        expect(json.error.message).to.be.a('string').and.not.equal('');
      }),
      { numRuns: 300 },
    );
    expect(answered.every((s) => s >= 400 && s < 500)).to.equal(true);
    const ok = await pool.request({
      path: '/',
      method: 'POST',
      headers: JSON_TYPE,
      body: '{"name":"tea","count":2}',
    });
    expect(ok.statusCode).to.equal(200);
    expect(await ok.body.json()).to.deep.equal({ name: 'tea', count: 2 });
  });
});
