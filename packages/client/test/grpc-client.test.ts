import { fileURLToPath } from 'node:url';
import * as grpcjs from '@grpc/grpc-js';
import * as protoLoader from '@grpc/proto-loader';
import { background } from '@kitts/endpoint';
import { MemoryRegistry } from '@kitts/sd';
import { assertNoLeaks, baseline } from '@kitts/testkit';
import { expect } from 'chai';
import { grpc } from '../src/grpc.js';
import { serve, serviceClient } from '../src/index.js';

const def = protoLoader.loadSync(fileURLToPath(new URL('./fixtures/book.proto', import.meta.url)), {
  keepCase: true,
  longs: Number,
  defaults: true,
});
const pkg = grpcjs.loadPackageDefinition(def) as unknown as {
  book: { BookService: grpcjs.ServiceClientConstructor };
};
const BookService = pkg.book.BookService;

function bookServer(name: string, state: { failing: boolean; hits: number }) {
  const server = new grpcjs.Server();
  server.addService(BookService.service, {
    GetBookInfo: (
      call: grpcjs.ServerUnaryCall<{ id: number }, unknown>,
      cb: grpcjs.sendUnaryData<unknown>,
    ) => {
      state.hits++;
      if (state.failing) return cb({ code: grpcjs.status.UNAVAILABLE, details: 'sick' });
      cb(null, { id: call.request.id, name: `book ${call.request.id}`, served_by: name });
    },
    GetBookList: (_call: unknown, cb: grpcjs.sendUnaryData<unknown>) => {
      state.hits++;
      if (state.failing) return cb({ code: grpcjs.status.UNAVAILABLE, details: 'sick' });
      cb(null, { books: [{ id: 1, name: 'one', served_by: name }] });
    },
  });
  return server;
}

describe('serviceClient over gRPC', function () {
  this.timeout(20_000);

  it('alternates instances on one channel each, retries idempotent calls, never the others', async () => {
    const base = await baseline();
    const registry = new MemoryRegistry();
    const states = [0, 1, 2].map(() => ({ failing: false, hits: 0 }));
    const served = [];
    for (let i = 0; i < 3; i++) {
      served.push(
        await serve({
          server: bookServer(`b${i}`, states[i]!),
          registrar: ({ address }) => registry.registrar('book', { id: `b${i}`, address }),
          signals: false,
          drainTimeout: 200,
        }),
      );
    }
    const client = serviceClient({
      service: 'book',
      discovery: registry.instancer('book'),
      transport: grpc({
        client: BookService,
        methods: { GetBookInfo: { idempotent: true }, GetBookList: {} },
      }),
      retry: { max: 3, backoff: false, budget: false },
      breaker: false,
    });
    await client.ready(2000);
    const servedBy: string[] = [];
    for (let i = 1; i <= 6; i++) {
      const r = (await client.GetBookInfo(background(), { id: i })) as { id: number; served_by: string };
      expect(r.id).to.equal(i);
      servedBy.push(r.served_by);
    }
    expect(new Set(servedBy).size).to.equal(3);
    expect(servedBy[0]).not.to.equal(servedBy[1]);

    // One sick instance: the idempotent method never fails, the other fails at most once per visit.
    states[1]!.failing = true;
    for (let i = 0; i < 9; i++) await client.GetBookInfo(background(), { id: i });
    const before = states.reduce((n, s) => n + s.hits, 0);
    const results = await Promise.allSettled([1, 2, 3].map(() => client.GetBookList(background(), {})));
    const after = states.reduce((n, s) => n + s.hits, 0);
    expect(after - before).to.equal(3); // one attempt per non-idempotent call
    const failed = results.filter((r) => r.status === 'rejected');
    expect(failed).to.have.length(1);
    expect((failed[0] as PromiseRejectedResult).reason.code).to.equal(grpcjs.status.UNAVAILABLE);

    await client.close();
    await Promise.all(served.map((s) => s.close()));
    registry.close();
    await assertNoLeaks(base, { settleMs: 200 });
  });
});
