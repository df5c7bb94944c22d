import * as grpc from '@grpc/grpc-js';
import { Metadata, status } from '@grpc/grpc-js';
import {
  background,
  CanceledError,
  type Context,
  DeadlineExceededError,
  key,
  withCancel,
  withDeadline,
  withTimeout,
  withValue,
} from '@kitts/endpoint';
import { assertNoLeaks, baseline, freePort, waitFor } from '@kitts/testkit';
import { expect } from 'chai';
import { createUnaryClient, createUnaryHandler, GrpcError, isRetryable } from '../src/index.js';
import { deferred, insecure, LoadedEcho, type Running, startServer } from './fixture.js';
import { EchoClient, type EchoRequest, type EchoResponse, EchoService } from './generated/echo.js';

type Handler = grpc.handleUnaryCall<EchoRequest, EchoResponse>;

const toMessage = (_ctx: Context, text: string): EchoRequest => ({ message: text, number: 0, tags: [] });
const fromMessage = (_ctx: Context, m: EchoResponse) => m.message;
const upper: Handler = (call, cb) =>
  cb(null, { ...call.request, message: call.request.message.toUpperCase() });

describe('createUnaryClient', () => {
  let base: Map<string, number>;
  let running: Running | undefined;
  const clients: grpc.Client[] = [];

  before(async () => {
    base = await baseline();
  });

  afterEach(async () => {
    for (const c of clients.splice(0)) c.close();
    await running?.close();
    running = undefined;
  });

  after(async () => {
    await assertNoLeaks(base);
  });

  async function serve(echo: Handler) {
    running = await startServer((s) => s.addService(EchoService, { echo, reverse: upper, count: () => {} }));
    return running.address;
  }

  function track<C extends grpc.Client>(c: C): C {
    clients.push(c);
    return c;
  }

  it('calls a method of a ts-proto generated client, by name or by definition', async () => {
    const client = track(new EchoClient(await serve(upper), insecure()));
    const byName = createUnaryClient(client, 'echo', toMessage, fromMessage);
    const byDefinition = createUnaryClient(client, EchoService.reverse, toMessage, fromMessage);
    expect(await byName(background(), 'hi')).to.equal('HI');
    expect(await byDefinition(background(), 'there')).to.equal('THERE');
  });

  it('calls a method of a @grpc/proto-loader client, by proto name or camelCase name', async () => {
    const client = track(new LoadedEcho(await serve(upper), insecure()));
    const proto = createUnaryClient(client, 'Echo', toMessage, (_ctx, m: { message: string }) => m.message);
    const camel = createUnaryClient(
      client,
      'reverse',
      toMessage,
      (_ctx, m: { message: string }) => m.message,
    );
    expect(await proto(background(), 'a')).to.equal('A');
    expect(await camel(background(), 'b')).to.equal('B');
  });

  it('calls through a plain grpc-js Client given a method definition', async () => {
    const client = track(new grpc.Client(await serve(upper), insecure()));
    const e = createUnaryClient(client, EchoService.echo, toMessage, fromMessage);
    expect(await e(background(), 'plain')).to.equal('PLAIN');
  });

  it('sends the context deadline as the call deadline, by the wall clock even with an injected clock', async () => {
    const deadlines: number[] = [];
    const address = await serve((call, cb) => {
      deadlines.push(Number(call.getDeadline()));
      upper(call, cb);
    });
    const e = createUnaryClient(track(new EchoClient(address, insecure())), 'echo', toMessage, fromMessage);
    await e(background(), 'none');
    // A context whose clock reads 1000: its deadline 61000 is 60 s away, not in 1970.
    const [ctx, cancel] = withDeadline(background({ now: () => 1000 }), 61_000);
    const before = Date.now();
    await e(ctx, 'fake clock');
    cancel();
    expect(deadlines[0]).to.equal(Number.POSITIVE_INFINITY);
    expect(deadlines[1]).to.be.within(before + 30_000, Date.now() + 60_000);
  });

  it('ends with DeadlineExceededError when the context deadline passes, and the server hears it', async () => {
    const cancelled = deferred();
    const address = await serve((call) => {
      call.once('cancelled', () => cancelled.resolve());
    });
    const e = createUnaryClient(track(new EchoClient(address, insecure())), 'echo', toMessage, fromMessage);
    const [ctx, cancel] = withTimeout(background(), 30);
    const err = await e(ctx, 'slow').catch((x: unknown) => x);
    cancel();
    expect(err).to.be.instanceOf(DeadlineExceededError);
    await cancelled.promise;
  });

  it('cancels the call when the context is cancelled', async () => {
    const arrived = deferred();
    const cancelled = deferred();
    const address = await serve((call) => {
      call.once('cancelled', () => cancelled.resolve());
      arrived.resolve();
    });
    const e = createUnaryClient(track(new EchoClient(address, insecure())), 'echo', toMessage, fromMessage);
    const [ctx, cancel] = withCancel(background());
    const pending = e(ctx, 'x').catch((x: unknown) => x);
    await arrived.promise;
    cancel();
    expect(await pending).to.be.instanceOf(CanceledError);
    await cancelled.promise;
  });

  it('cancels every call in flight on a shared context', async () => {
    let arrived = 0;
    const address = await serve((call) => {
      arrived++;
      call.on('cancelled', () => {});
    });
    const e = createUnaryClient(track(new EchoClient(address, insecure())), 'echo', toMessage, fromMessage);
    const [ctx, cancel] = withCancel(background());
    const pending = Promise.all([...Array(20).keys()].map((i) => e(ctx, `c${i}`).catch((x: unknown) => x)));
    await waitFor(() => arrived === 20);
    cancel();
    const errors = await pending;
    expect(errors.every((x) => x instanceof CanceledError)).to.equal(true);
  });

  it('does not call at all with a context that already ended', async () => {
    let calls = 0;
    const address = await serve((call, cb) => {
      calls++;
      upper(call, cb);
    });
    const e = createUnaryClient(track(new EchoClient(address, insecure())), 'echo', toMessage, fromMessage);
    const [ctx, cancel] = withCancel(background());
    cancel();
    expect(await e(ctx, 'x').catch((x: unknown) => x)).to.be.instanceOf(CanceledError);
    expect(calls).to.equal(0);
  });

  it('turns a non-OK status into a GrpcError with code, details, trailers and an HTTP equivalent', async () => {
    const address = await serve((_call, cb) => {
      const md = new Metadata();
      md.set('reason', 'missing');
      cb({ code: status.NOT_FOUND, details: 'no user 7', metadata: md });
    });
    const e = createUnaryClient(track(new EchoClient(address, insecure())), 'echo', toMessage, fromMessage);
    const err = (await e(background(), 'x').catch((x: unknown) => x)) as GrpcError;
    expect(err).to.be.instanceOf(GrpcError);
    expect(err.code).to.equal(status.NOT_FOUND);
    expect(err.codeName).to.equal('NOT_FOUND');
    expect(err.details).to.equal('no user 7');
    expect(err.message).to.equal('NOT_FOUND: no user 7');
    expect(err.metadata.get('reason')).to.deep.equal(['missing']);
    expect(err.statusCode).to.equal(404);
    expect(err.retryable).to.equal(false);
  });

  it('classifies DEADLINE_EXCEEDED and ABORTED from the server as retryable only for idempotent calls', async () => {
    let code = status.DEADLINE_EXCEEDED;
    const address = await serve((_call, cb) => cb({ code, details: 'server gave up' }));
    const client = track(new EchoClient(address, insecure()));
    const plain = createUnaryClient(client, 'echo', toMessage, fromMessage);
    const idempotent = createUnaryClient(client, 'echo', toMessage, fromMessage, { idempotent: true });
    for (const c of [status.DEADLINE_EXCEEDED, status.ABORTED]) {
      code = c;
      const have = [
        await plain(background(), 'x').catch((x) => x),
        await idempotent(background(), 'x').catch((x) => x),
      ];
      expect(have.map((x: GrpcError) => [x.code, x.retryable])).to.deep.equal([
        [c, false],
        [c, true],
      ]);
    }
    code = status.RESOURCE_EXHAUSTED;
    expect(isRetryable(await plain(background(), 'x').catch((x) => x))).to.equal(true);
    code = status.INVALID_ARGUMENT;
    expect(isRetryable(await idempotent(background(), 'x').catch((x) => x))).to.equal(false);
  });

  it('reports an unreachable server as a retryable UNAVAILABLE', async () => {
    const port = await freePort();
    const e = createUnaryClient(
      track(new EchoClient(`127.0.0.1:${port}`, insecure())),
      'echo',
      toMessage,
      fromMessage,
    );
    const err = (await e(background(), 'x').catch((x: unknown) => x)) as GrpcError;
    expect([err.code, err.retryable, err.statusCode]).to.deep.equal([status.UNAVAILABLE, true, 503]);
  });

  it('threads context values through client and server hooks, as go-kit transport/grpc/_grpc_test', async () => {
    const correlation = key<string>('correlation');
    const fromHeader = key<string>('from-header');
    const fromTrailer = key<string>('from-trailer');
    running = await startServer((s) =>
      s.addService(EchoService, {
        echo: createUnaryHandler(
          async (ctx, r: EchoRequest) => ({ ...r, message: `${r.message}/${ctx.value(correlation)}` }),
          (_ctx, m: EchoRequest) => m,
          (_ctx, m: EchoResponse) => m,
          {
            before: (ctx, md) => withValue(ctx, correlation, String(md.get('correlation-id')[0])),
            after: (ctx, { header, trailer }) => {
              header.set('correlation-id', `${ctx.value(correlation)}-h`);
              trailer.set('correlation-id', `${ctx.value(correlation)}-t`);
            },
          },
        ),
        reverse: upper,
        count: () => {},
      }),
    );
    const seen: unknown[] = [];
    const e = createUnaryClient(
      track(new EchoClient(running.address, insecure())),
      'echo',
      (ctx, text: string) => toMessage(ctx, text),
      (ctx, m: EchoResponse) => `${m.message} ${ctx.value(fromHeader)} ${ctx.value(fromTrailer)}`,
      {
        before: (ctx, md) => {
          md.set('correlation-id', ctx.value(correlation) ?? 'none');
        },
        after: [
          (ctx, { header }) => withValue(ctx, fromHeader, String(header.get('correlation-id')[0])),
          (ctx, { trailer }) => withValue(ctx, fromTrailer, String(trailer.get('correlation-id')[0])),
        ],
        finalizer: (_ctx, info) => seen.push(info),
      },
    );
    const have = await e(withValue(background(), correlation, 'c1'), 'req');
    expect(have).to.equal('req/c1 c1-h c1-t');
    expect(seen).to.deep.equal([{ code: status.OK, error: undefined }]);
  });

  it('refuses unknown, streaming or unnamed methods with a clear message', async () => {
    const client = track(new EchoClient(await serve(upper), insecure()));
    expect(() => createUnaryClient(client, 'nope', toMessage, fromMessage)).to.throw(
      TypeError,
      /no method nope; it has echo, reverse, count/,
    );
    expect(() => createUnaryClient(client, 'count', toMessage, fromMessage)).to.throw(TypeError, /streaming/);
    const plain = track(new grpc.Client(running!.address, insecure()));
    expect(() => createUnaryClient(plain, 'echo', toMessage, fromMessage)).to.throw(TypeError, /definition/);
    expect(() => createUnaryClient({} as grpc.Client, 'echo', toMessage, fromMessage)).to.throw(
      TypeError,
      /Client/,
    );
  });
});
