import { createServer, type Server } from 'node:http';
import { background, CircuitOpenError, type Endpoint, type Middleware } from '@kitts/endpoint';
import { type Instancer, MemoryRegistry } from '@kitts/sd';
import { assertNoLeaks, baseline } from '@kitts/testkit';
import { createHandler, createRouter, encodeJSON, jsonBody, pathParamsKey } from '@kitts/transport-http';
import { expect } from 'chai';
import { http } from '../src/http.js';
import { serve, serviceClient } from '../src/index.js';

interface Comments {
  id: string;
  comments: string[];
  servedBy: string;
}

/** A comments instance: GET /comments/:id and POST /comments/:id (counts every hit). */
function commentsServer(name: string, behaviour: { fail?: () => boolean; delay?: number } = {}) {
  const hits = { get: 0, post: 0 };
  const get: Endpoint<{ id: string }, Comments> = async (_ctx, { id }) => {
    hits.get++;
    if (behaviour.delay) await new Promise((r) => setTimeout(r, behaviour.delay));
    if (behaviour.fail?.()) throw Object.assign(new Error('boom'), { statusCode: 503 });
    return { id, comments: [`nice ${id}`], servedBy: name };
  };
  const post: Endpoint<{ id: string; text: string }, { ok: true; servedBy: string }> = async () => {
    hits.post++;
    if (behaviour.fail?.()) throw Object.assign(new Error('boom'), { statusCode: 503 });
    return { ok: true, servedBy: name };
  };
  const router = createRouter([
    {
      method: 'GET',
      path: '/comments/:id',
      handler: createHandler(get, (ctx) => ({ id: ctx.value(pathParamsKey)!.id! }), encodeJSON),
    },
    {
      method: 'POST',
      path: '/comments/:id',
      handler: createHandler(post, jsonBody() as never, encodeJSON),
    },
  ]);
  const server = createServer(router);
  return { server, hits, name };
}

const transport = () =>
  http({
    methods: {
      getComments: { method: 'GET', path: '/comments/:id' },
      addComment: { method: 'POST', path: '/comments/:id' },
    },
  });

type Client = ReturnType<
  typeof serviceClient<
    ReturnType<typeof transport> extends { connect(i: never): { endpoints: infer M } } ? M : never
  >
>;

describe('serviceClient over HTTP', function () {
  this.timeout(20_000);
  let registry: MemoryRegistry;
  let instances: {
    server: Server;
    hits: { get: number; post: number };
    name: string;
    close(): Promise<void>;
  }[];

  async function start(n: number, behaviours: Record<number, Parameters<typeof commentsServer>[1]> = {}) {
    for (let i = 0; i < n; i++) {
      const s = commentsServer(`c${i}`, behaviours[i]);
      const served = await serve({
        server: s.server,
        registrar: ({ address }) => registry.registrar('comments', { id: `c${i}`, address }),
        signals: false,
        drainTimeout: 200,
      });
      instances.push({ ...s, close: served.close });
    }
  }

  beforeEach(() => {
    registry = new MemoryRegistry();
    instances = [];
  });

  afterEach(async () => {
    await Promise.all(instances.map((i) => i.close()));
    registry.close();
  });

  it('shares one Endpointer, one subscription and one pool per instance across methods', async () => {
    const base = await baseline();
    await start(3);
    let subscriptions = 0;
    const inner = registry.instancer('comments');
    const counting: Instancer = {
      subscribe: (l) => {
        subscriptions++;
        return inner.subscribe(l);
      },
      close: () => inner.close(),
    };
    let connects = 0;
    const t = transport();
    const connect = t.connect.bind(t);
    t.connect = (i) => {
      connects++;
      return connect(i);
    };
    const client = serviceClient({ service: 'comments', discovery: counting, transport: t });
    await client.ready(2000);
    const seen = new Set<string>();
    for (let i = 0; i < 6; i++) {
      const r = (await client.getComments(background(), { id: `g${i}` })) as Comments;
      seen.add(r.servedBy);
      await client.addComment(background(), { id: `g${i}`, text: 'hi' });
    }
    expect(seen.size).to.equal(3); // round robin visits every instance
    expect(subscriptions).to.equal(1);
    expect(connects).to.equal(3); // one connection per instance, not per method
    expect(client.endpointer.current().entries).to.have.length(3);
    await client.close();
    await Promise.all(instances.map((i) => i.close()));
    instances = [];
    await inner.close();
    await assertNoLeaks(base);
  });

  it('loses no idempotent call when an instance dies mid-traffic', async () => {
    await start(3);
    const client = serviceClient({
      service: 'comments',
      discovery: registry.instancer('comments'),
      transport: transport(),
      retry: { max: 3, backoff: { base: 5, cap: 20, jitter: 'full' } },
    });
    await client.ready(2000);
    let ok = 0;
    const failures: unknown[] = [];
    const calls: Promise<void>[] = [];
    for (let i = 0; i < 300; i++) {
      if (i === 100) {
        // Kill c1 without deregistering first: connections are refused until the registry notices.
        const victim = instances[1]!;
        victim.server.closeAllConnections();
        victim.server.close();
        setTimeout(() => void registry.registrar('comments', { id: 'c1', address: 'x' }).deregister(), 50);
      }
      calls.push(
        client.getComments(background(), { id: `g${i}` }).then(
          () => void ok++,
          (e: unknown) => void failures.push(e),
        ),
      );
      if (i % 10 === 0) await new Promise((r) => setTimeout(r, 2));
    }
    await Promise.all(calls);
    expect(failures, String(failures[0])).to.have.length(0);
    expect(ok).to.equal(300);
    await client.close();
  });

  it('never retries a non-idempotent call', async () => {
    await start(2, { 0: { fail: () => true }, 1: { fail: () => true } });
    const client = serviceClient({
      service: 'comments',
      discovery: registry.instancer('comments'),
      transport: transport(),
      breaker: false,
    });
    await client.ready(2000);
    const err = await client.addComment(background(), { id: 'g1', text: 'x' }).catch((e: unknown) => e);
    expect((err as { statusCode?: number }).statusCode).to.equal(503);
    expect(instances[0]!.hits.post + instances[1]!.hits.post).to.equal(1);
    // The idempotent GET on the same failing service is retried: max attempts in all.
    await client.getComments(background(), { id: 'g1' }).catch(() => {});
    expect(instances[0]!.hits.get + instances[1]!.hits.get).to.equal(3);
    await client.close();
  });

  it('layers: user middleware sees one call, retry sees breaker rejections, breakers see their own failures', async () => {
    let failing = true;
    await start(2, { 0: { fail: () => failing } });
    const userSaw: string[] = [];
    const user: Middleware<any, any> = (next) => async (ctx, req) => {
      try {
        const r = await next(ctx, req);
        userSaw.push('ok');
        return r;
      } catch (e) {
        userSaw.push('error');
        throw e;
      }
    };
    const client = serviceClient({
      service: 'comments',
      discovery: registry.instancer('comments'),
      transport: transport(),
      middleware: [user],
      breaker: { volumeThreshold: 3, errorThresholdPercentage: 50, sleepWindow: 60_000 },
      retry: { max: 2, backoff: false, budget: false },
    });
    await client.ready(2000);
    for (let i = 0; i < 10; i++) await client.getComments(background(), { id: `g${i}` });
    // Every call succeeded from the user's point of view: retry moved to the healthy instance.
    expect(userSaw).to.deep.equal(Array(10).fill('ok'));
    // c0's breaker opened after a few failures and took it out of rotation.
    const hitsOnSick = instances[0]!.hits.get;
    expect(hitsOnSick).to.be.lessThan(6);
    const entry = client.endpointer.current().entries.find((e) => e.instance.id === 'c0')!;
    expect(entry.available?.()).to.equal(false);
    const rejected = await entry
      .endpoint(background(), { method: 'getComments', request: { id: 'x' } })
      .catch((e: unknown) => e);
    expect(rejected).to.be.instanceOf(CircuitOpenError);
    failing = false;
    await client.close();
  });

  it('the overall deadline bounds the call', async () => {
    await start(1, { 0: { delay: 500 } });
    const client = serviceClient({
      service: 'comments',
      discovery: registry.instancer('comments'),
      transport: transport(),
      timeout: 100,
    });
    await client.ready(2000);
    const t0 = Date.now();
    const err = await client.getComments(background(), { id: 'g' }).catch((e: unknown) => e);
    expect((err as { code?: string }).code).to.equal('DEADLINE_EXCEEDED');
    expect(Date.now() - t0).to.be.lessThan(450);
    await client.close();
  });

  it('refuses reserved method names and unknown per-method settings', () => {
    expect(() =>
      serviceClient({
        service: 's',
        discovery: 'static://127.0.0.1:1',
        transport: http({ methods: { close: { method: 'GET', path: '/x' } } }),
      }),
    ).to.throw('reserved');
    expect(() =>
      serviceClient({
        service: 's',
        discovery: 'static://127.0.0.1:1',
        transport: transport(),
        methods: { nope: { timeout: 1 } } as never,
      }),
    ).to.throw('methods.nope');
  });

  it('a request missing a path parameter is a DecodeError, not a call', async () => {
    await start(1);
    const client = serviceClient({
      service: 'comments',
      discovery: registry.instancer('comments'),
      transport: transport(),
    });
    await client.ready(2000);
    const err = await client.getComments(background(), {}).catch((e: unknown) => e);
    expect((err as { code?: string }).code).to.equal('DECODE');
    expect(String((err as Error).message)).to.include('"id"');
    expect(instances[0]!.hits.get).to.equal(0);
    await client.close();
  });
});

export type { Client };
