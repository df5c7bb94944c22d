import { status } from '@grpc/grpc-js';
import {
  background,
  type Context,
  DeadlineExceededError,
  DecodeError,
  type Endpoint,
  sleep,
  withTimeout,
} from '@kitts/endpoint';
import { assertNoLeaks, baseline } from '@kitts/testkit';
import { expect } from 'chai';
import {
  createServerStreamClient,
  createServerStreamHandler,
  GrpcError,
  type StreamServerOptions,
} from '../src/index.js';
import { deferred, insecure, type Running, startServer } from './fixture.js';
import { type CountRequest, type CountResponse, EchoClient, EchoService } from './generated/echo.js';

type Count = Endpoint<CountRequest, AsyncIterable<number>>;

const same = <T>(_ctx: Context, x: T) => x;
const toItem = (_ctx: Context, n: number): CountResponse => ({ n });

const upTo: Count = async (_ctx, { from, to }) =>
  (async function* () {
    for (let i = from; i <= to; i++) yield i;
  })();

async function collect<T>(items: AsyncIterable<T>): Promise<T[]> {
  const out: T[] = [];
  for await (const x of items) out.push(x);
  return out;
}

describe('server streaming', () => {
  let base: Map<string, number>;
  let running: Running | undefined;
  let client: EchoClient | undefined;

  before(async () => {
    base = await baseline();
  });

  afterEach(async () => {
    client?.close();
    await running?.close();
  });

  after(async () => {
    await assertNoLeaks(base);
  });

  async function serve(endpoint: Count, options?: StreamServerOptions) {
    running = await startServer((s) =>
      s.addService(EchoService, {
        echo: () => {},
        reverse: () => {},
        count: createServerStreamHandler(endpoint, same<CountRequest>, toItem, options),
      }),
    );
    client = new EchoClient(running.address, insecure());
    return createServerStreamClient(
      client,
      EchoService.count,
      (_ctx, [from, to]: [number, number]): CountRequest => ({ from, to }),
      (_ctx, m: CountResponse) => m.n,
    );
  }

  it('streams every item of an async iterable endpoint, in order, through flow control', async () => {
    const count = await serve(upTo);
    expect(await collect(await count(background(), [1, 5]))).to.deep.equal([1, 2, 3, 4, 5]);
    // Far more items than the stream buffers (16): the handler must wait for 'drain'.
    const many = await collect(await count(background(), [1, 2000]));
    expect(many).to.have.length(2000);
    expect(many.every((n, i) => n === i + 1)).to.equal(true);
  });

  it("cancels the call when the consumer stops early, and runs the endpoint's finally", async () => {
    const cleaned = deferred<unknown>();
    const count = await serve(async (ctx) =>
      (async function* () {
        try {
          for (let i = 1; ; i++) {
            yield i;
            await sleep(ctx, 1);
          }
        } finally {
          cleaned.resolve(ctx.err());
        }
      })(),
    );
    const seen: number[] = [];
    for await (const n of await count(background(), [0, 0])) {
      seen.push(n);
      if (n === 3) break;
    }
    expect(seen).to.deep.equal([1, 2, 3]);
    expect((await cleaned.promise) as Error).to.have.property('code', 'CANCELED');
  });

  it('ends with the mapped status when the iteration fails midway, after the items before it', async () => {
    const count = await serve(
      async () =>
        (async function* () {
          yield 1;
          yield 2;
          throw Object.assign(new Error('ran out'), { statusCode: 404 });
        })(),
      { after: (_ctx, { trailer, error }) => void trailer.set('failed', String(error !== undefined)) },
    );
    const seen: number[] = [];
    const err = await (async () => {
      for await (const n of await count(background(), [0, 0])) seen.push(n);
    })().catch((e: unknown) => e);
    expect(seen).to.deep.equal([1, 2]);
    expect(err).to.be.instanceOf(GrpcError);
    expect([(err as GrpcError).code, (err as GrpcError).details]).to.deep.equal([
      status.NOT_FOUND,
      'ran out',
    ]);
    expect((err as GrpcError).metadata.get('failed')).to.deep.equal(['true']);
  });

  it('rejects the endpoint itself when the stream fails before it opens', async () => {
    const count = await serve(async () => {
      throw new DecodeError('from: must be positive');
    });
    const err = (await count(background(), [-1, 0]).catch((e: unknown) => e)) as GrpcError;
    expect([err.code, err.details]).to.deep.equal([status.INVALID_ARGUMENT, 'from: must be positive']);
  });

  it('ends both sides when the context deadline passes mid-stream', async () => {
    const serverSaw = deferred<unknown>();
    const count = await serve(async (ctx) =>
      (async function* () {
        try {
          for (let i = 1; ; i++) {
            yield i;
            await sleep(ctx, 5);
          }
        } finally {
          // Stopped at a yield (return) or in sleep (throw): either way the context says why.
          serverSaw.resolve(ctx.err());
        }
      })(),
    );
    const [ctx, cancel] = withTimeout(background(), 60);
    const err = await (async () => {
      for await (const _ of await count(ctx, [0, 0])) {
        // consume until the deadline
      }
    })().catch((e: unknown) => e);
    cancel();
    expect(err).to.be.instanceOf(DeadlineExceededError);
    expect(await serverSaw.promise).to.be.instanceOf(DeadlineExceededError);
  });

  it('answers an endpoint that returns no iterable with UNKNOWN, hiding the reason', async () => {
    const count = await serve((async () => [1, 2]) as unknown as Count);
    const err = (await count(background(), [0, 0]).catch((e: unknown) => e)) as GrpcError;
    expect([err.code, err.details]).to.deep.equal([status.UNKNOWN, 'internal error']);
  });
});
