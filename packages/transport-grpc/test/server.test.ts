import { type ClientUnaryCall, Metadata, type ServiceError, status } from '@grpc/grpc-js';
import {
  CanceledError,
  CircuitOpenError,
  type Context,
  DeadlineExceededError,
  DecodeError,
  type Endpoint,
  key,
  NoEndpointsError,
  RateLimitedError,
  RetryError,
  withValue,
} from '@kitts/endpoint';
import { assertNoLeaks, baseline } from '@kitts/testkit';
import { expect } from 'chai';
import * as t from 'io-ts';
import { z } from 'zod';
import { createUnaryHandler, GrpcError, type ServerOptions, schemaDecoder } from '../src/index.js';
import { deferred, insecure, type Running, startServer } from './fixture.js';
import { EchoClient, type EchoRequest, type EchoResponse, EchoService } from './generated/echo.js';

interface Reply {
  err: ServiceError | null;
  value?: EchoResponse;
  header?: Metadata;
  trailer?: Metadata;
}

/** One call through a raw grpc-js client, keeping everything the wire carried. */
function call(
  client: EchoClient,
  req: Partial<EchoRequest>,
  opts: { metadata?: Metadata; deadline?: number; started?: (c: ClientUnaryCall) => void } = {},
): Promise<Reply> {
  return new Promise((resolve) => {
    const reply: Reply = { err: null };
    const c = client.echo(
      { message: '', number: 0, tags: [], ...req },
      opts.metadata ?? new Metadata(),
      opts.deadline === undefined ? {} : { deadline: opts.deadline },
      (err, value) => {
        reply.err = err;
        reply.value = value;
      },
    );
    c.on('metadata', (m) => {
      reply.header = m;
    });
    c.on('status', (s) => {
      reply.trailer = s.metadata;
      resolve(reply);
    });
    opts.started?.(c);
  });
}

const identity = <T>(_ctx: Context, x: T) => x;
const echo: Endpoint<EchoRequest, EchoResponse> = async (_ctx, req) => ({ ...req, message: req.message });

/** Resolves with the context's error once its signal aborts. */
const ended = (ctx: Context) =>
  new Promise<unknown>((resolve) =>
    ctx.signal.addEventListener('abort', () => resolve(ctx.err()), { once: true }),
  );

describe('createUnaryHandler', () => {
  let base: Map<string, number>;
  let running: Running | undefined;
  let client: EchoClient | undefined;

  before(async () => {
    base = await baseline();
  });

  afterEach(async () => {
    client?.close();
    await running?.close();
    client = undefined;
    running = undefined;
  });

  after(async () => {
    await assertNoLeaks(base);
  });

  async function serve(endpoint: Endpoint<EchoRequest, EchoResponse>, options?: ServerOptions) {
    running = await startServer((s) =>
      s.addService(EchoService, {
        echo: createUnaryHandler(endpoint, identity<EchoRequest>, identity<EchoResponse>, options),
        reverse: createUnaryHandler(echo, identity<EchoRequest>, identity<EchoResponse>),
        count: () => {},
      }),
    );
    client = new EchoClient(running.address, insecure());
    return client;
  }

  it('answers a request through decode, endpoint and encode', async () => {
    const c = await serve(async (_ctx, r) => ({ ...r, message: r.message.toUpperCase() }));
    const have = await call(c, { message: 'hello', number: 7, tags: ['a', 'b'] });
    expect(have.err).to.equal(null);
    expect(have.value).to.deep.equal({ message: 'HELLO', number: 7, tags: ['a', 'b'] });
  });

  it('threads metadata through before and after hooks, as go-kit ServerBefore/ServerAfter', async () => {
    const correlation = key<string>('correlation');
    const c = await serve(async (ctx, r) => ({ ...r, message: `${r.message}:${ctx.value(correlation)}` }), {
      before: (ctx, md) => withValue(ctx, correlation, String(md.get('correlation-id')[0])),
      after: (ctx, { header, trailer }) => {
        header.set('my-header', `h-${ctx.value(correlation)}`);
        trailer.set('my-trailer', `t-${ctx.value(correlation)}`);
      },
    });
    const md = new Metadata();
    md.set('correlation-id', 'abc');
    const have = await call(c, { message: 'x' }, { metadata: md });
    expect(have.value?.message).to.equal('x:abc');
    expect(have.header?.get('my-header')).to.deep.equal(['h-abc']);
    expect(have.trailer?.get('my-trailer')).to.deep.equal(['t-abc']);
  });

  it('gives the endpoint the call deadline, and no deadline when the call has none', async () => {
    const seen: (number | undefined)[] = [];
    const c = await serve(async (ctx, r) => {
      seen.push(ctx.deadline);
      return r;
    });
    const want = Date.now() + 60_000;
    await call(c, {}, { deadline: want });
    await call(c, {});
    expect(seen[0]).to.be.a('number');
    // grpc-timeout travels as a relative duration, so the two agree up to the transit time.
    expect(seen[0]!).to.be.within(want - 5_000, want + 5_000);
    expect(seen[1]).to.equal(undefined);
  });

  it('ends the endpoint context with DeadlineExceededError when the call deadline passes', async () => {
    const observed = deferred<unknown>();
    const c = await serve(async (ctx, r) => {
      observed.resolve(await ended(ctx));
      return r;
    });
    const have = await call(c, {}, { deadline: Date.now() + 30 });
    expect(have.err?.code).to.equal(status.DEADLINE_EXCEEDED);
    expect(await observed.promise).to.be.instanceOf(DeadlineExceededError);
  });

  it('aborts ctx.signal with CanceledError when the client cancels', async () => {
    const started = deferred();
    const observed = deferred<unknown>();
    const c = await serve(async (ctx, r) => {
      started.resolve();
      observed.resolve(await ended(ctx));
      return r;
    });
    // A deadline far away: the cancel is the client's, not its deadline's.
    const have = call(
      c,
      {},
      { deadline: Date.now() + 60_000, started: (cc) => started.promise.then(() => cc.cancel()) },
    );
    expect((await have).err?.code).to.equal(status.CANCELLED);
    expect(await observed.promise).to.be.instanceOf(CanceledError);
  });

  describe('maps errors to status codes by one table', () => {
    const cases: [string, () => unknown, status][] = [
      ['DeadlineExceededError', () => new DeadlineExceededError(), status.DEADLINE_EXCEEDED],
      ['CanceledError', () => new CanceledError(), status.CANCELLED],
      ['DecodeError', () => new DecodeError('bad name'), status.INVALID_ARGUMENT],
      ['CircuitOpenError', () => new CircuitOpenError(), status.UNAVAILABLE],
      ['RateLimitedError', () => new RateLimitedError(), status.RESOURCE_EXHAUSTED],
      ['NoEndpointsError', () => new NoEndpointsError(), status.UNAVAILABLE],
      ['RetryError (by its final error)', () => new RetryError([new Error('a'), new RateLimitedError()]), 8],
      ['GrpcError from downstream', () => new GrpcError(status.NOT_FOUND, 'no such user'), status.NOT_FOUND],
      ['statusCode 404', () => Object.assign(new Error('gone'), { statusCode: 404 }), status.NOT_FOUND],
      ['statusCode 403', () => Object.assign(new Error('no'), { statusCode: 403 }), status.PERMISSION_DENIED],
      ['statusCode 503', () => Object.assign(new Error('busy'), { statusCode: 503 }), status.UNAVAILABLE],
      ['statusCode 500', () => Object.assign(new Error('db down'), { statusCode: 500 }), status.INTERNAL],
      ['a plain Error', () => new Error('secret stack detail'), status.UNKNOWN],
      ['a thrown string', () => 'boom', status.UNKNOWN],
    ];
    for (const [name, make, want] of cases) {
      it(`${name} -> ${status[want]}`, async () => {
        const c = await serve(async () => {
          throw make();
        });
        const have = await call(c, {});
        expect(have.err?.code).to.equal(want);
      });
    }
  });

  it('does not leak the message of UNKNOWN or INTERNAL errors unless asked', async () => {
    const c = await serve(async () => {
      throw new Error('password=hunter2');
    });
    const hidden = await call(c, {});
    expect(hidden.err?.details).to.equal('internal error');
    client?.close();
    await running?.close();
    const c2 = await serve(
      async () => {
        throw new Error('password=hunter2');
      },
      { exposeInternalErrors: true },
    );
    const shown = await call(c2, {});
    expect(shown.err?.details).to.equal('password=hunter2');
  });

  it('sends the message of client-facing errors as details', async () => {
    const c = await serve(async () => {
      throw Object.assign(new Error('user 7 not found'), { statusCode: 404 });
    });
    expect((await call(c, {})).err?.details).to.equal('user 7 not found');
  });

  it("sends an error's headers as trailers (a breaker's retry-after)", async () => {
    const c = await serve(async () => {
      throw new CircuitOpenError('open', { retryAfter: 3000 });
    });
    const have = await call(c, {});
    expect(have.err?.code).to.equal(status.UNAVAILABLE);
    expect(have.trailer?.get('retry-after')).to.deep.equal(['3']);
  });

  it("answers a Failer response's business error by the same table", async () => {
    const failing = { failed: () => Object.assign(new Error('insufficient funds'), { statusCode: 412 }) };
    const c = await serve((async () => failing) as unknown as Endpoint<EchoRequest, EchoResponse>);
    const have = await call(c, {});
    expect(have.err?.code).to.equal(status.FAILED_PRECONDITION);
    expect(have.err?.details).to.equal('insufficient funds');
  });

  it('runs after-hooks on failure, then the error handler and the finalizer with the code', async () => {
    const log: string[] = [];
    const c = await serve(
      async () => {
        throw new RateLimitedError();
      },
      {
        after: (_ctx, { trailer, error }) => {
          log.push(`after:${(error as Error).name}`);
          trailer.set('after-ran', 'yes');
        },
        errorHandler: (_ctx, err) => log.push(`handler:${(err as Error).name}`),
        finalizer: (_ctx, { code, error }) => log.push(`finalizer:${code}:${(error as Error).name}`),
      },
    );
    const have = await call(c, {});
    expect(have.trailer?.get('after-ran')).to.deep.equal(['yes']);
    expect(log).to.deep.equal([
      'after:RateLimitedError',
      'handler:RateLimitedError',
      `finalizer:${status.RESOURCE_EXHAUSTED}:RateLimitedError`,
    ]);
  });

  it('gives the finalizer OK and no error on success', async () => {
    const seen: unknown[] = [];
    const c = await serve(echo, { finalizer: (_ctx, info) => seen.push(info) });
    await call(c, { message: 'a' });
    expect(seen).to.deep.equal([{ code: status.OK, error: undefined }]);
  });

  it('lets an errorEncoder replace the table', async () => {
    const c = await serve(
      async () => {
        throw new Error('teapot');
      },
      { errorEncoder: () => ({ code: status.ABORTED, details: 'custom' }) },
    );
    const have = await call(c, {});
    expect([have.err?.code, have.err?.details]).to.deep.equal([status.ABORTED, 'custom']);
  });

  it('answers UNKNOWN when a before-hook throws, and keeps serving', async () => {
    let first = true;
    const c = await serve(echo, {
      before: () => {
        if (first) {
          first = false;
          throw new Error('hook bug');
        }
      },
    });
    expect((await call(c, { message: 'a' })).err?.code).to.equal(status.UNKNOWN);
    expect((await call(c, { message: 'b' })).value?.message).to.equal('b');
  });

  describe('decoding with a schema', () => {
    const IoRequest = t.type({
      message: t.refinement(t.string, (s) => s.length > 0, 'NonEmptyString'),
      number: t.refinement(t.number, (n) => n > 0, 'PositiveNumber'),
      tags: t.array(t.string),
    });
    const ZodRequest = z.object({
      message: z.string().min(1),
      number: z.number().positive(),
      tags: z.array(z.string().max(3)),
    });

    async function serveWith(decode: (ctx: Context, m: unknown) => Promise<EchoRequest>) {
      running = await startServer((s) =>
        s.addService(EchoService, {
          echo: createUnaryHandler(echo, decode, identity<EchoResponse>),
          reverse: () => {},
          count: () => {},
        }),
      );
      client = new EchoClient(running.address, insecure());
      return client;
    }

    it('answers INVALID_ARGUMENT naming every failing path (io-ts)', async () => {
      const c = await serveWith(schemaDecoder(IoRequest));
      const have = await call(c, { message: '', number: -1 });
      expect(have.err?.code).to.equal(status.INVALID_ARGUMENT);
      expect(have.err?.details).to.include('message: expected NonEmptyString');
      expect(have.err?.details).to.include('number: expected PositiveNumber');
      expect((await call(c, { message: 'ok', number: 1 })).value?.message).to.equal('ok');
    });

    it('answers INVALID_ARGUMENT naming every failing path (Standard Schema: zod)', async () => {
      const c = await serveWith(schemaDecoder(ZodRequest));
      const have = await call(c, { message: 'fine', number: 2, tags: ['ok', 'too long'] });
      expect(have.err?.code).to.equal(status.INVALID_ARGUMENT);
      expect(have.err?.details).to.match(/^invalid request: \$\.tags\[1\]: /);
      expect((await call(c, { message: 'ok', number: 1, tags: ['a'] })).value?.tags).to.deep.equal(['a']);
    });
  });

  it('refuses to be built without an endpoint, decode or encode', () => {
    expect(() => createUnaryHandler(undefined as never, identity, identity)).to.throw(TypeError, /endpoint/);
    expect(() => createUnaryHandler(echo, undefined as never, identity)).to.throw(TypeError, /decode/);
  });
});
