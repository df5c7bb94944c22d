// book-grpc: a book service over gRPC (GetBookInfo, GetBookList), three instances that
// register themselves under /services/book/, and a client that discovers them there and
// calls them in turn (round robin), retrying on another instance when one fails
// (at most 3 attempts, all within 3 s).
//
// Run (in examples/book-grpc):  npm start
//                               npm start -- --registry etcd://127.0.0.1:2379/services
import { pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';
import { type Served, serve, serviceClient } from '@kitts/client';
import { grpc } from '@kitts/client/grpc';
import { background } from '@kitts/endpoint';
import { roundRobin } from '@kitts/lb';
import type { Endpointer } from '@kitts/sd';
import { type Attempt, bookInstance } from './book-service.js';
import { type BookInfo, type BookList, BookService } from './proto.js';
import { openRegistry } from './registry.js';

export interface BookGrpcOptions {
  /** Where instances register and the client looks: memory:// (default), etcd://, consul://, zk://. */
  registry?: string;
  out?: (line: string) => void;
}

/** One client call: what it asked, what came back, and every attempt the instances saw. */
export interface CallRecord {
  readonly call: string;
  readonly answer: string;
  /** The instance whose answer the caller got (the last attempt). */
  readonly answeredBy: string | undefined;
  readonly attempts: readonly Attempt[];
}

export interface BookGrpcResult {
  readonly instances: readonly { id: string; address: string }[];
  /** Six calls while every instance is healthy. */
  readonly roundRobin: readonly CallRecord[];
  /** Six calls while book-2 answers UNAVAILABLE. */
  readonly withFailure: readonly CallRecord[];
  /** A book that does not exist: NOT_FOUND, tried once. */
  readonly notFound: CallRecord;
}

const NAMES = ['book-1', 'book-2', 'book-3'];

export async function main(options: BookGrpcOptions = {}): Promise<BookGrpcResult> {
  const out = options.out ?? console.log;
  const registry = await openRegistry(options.registry);
  const journal: Attempt[] = [];
  const books = NAMES.map((name) => bookInstance(name, journal));
  const served: Served[] = [];
  let client: ReturnType<typeof bookClient> | undefined;
  try {
    for (const book of books) {
      served.push(
        await serve({
          server: book.server,
          // The port is known once bound: the registrar is built from the address.
          registrar: ({ address }) => registry.registrar('book', { id: book.name, address }),
          signals: false, // a demo that ends by itself; a real service keeps SIGTERM/SIGINT
          drainTimeout: 1000,
        }),
      );
    }
    out(`book-grpc: ${books.length} instances of "book" registered in ${registry.url}`);
    for (let i = 0; i < books.length; i++) {
      out(`  ${pad(NAMES[i]!, 8)}${pad(served[i]!.address, 18)}${registry.locate('book', NAMES[i]!)}`);
    }

    client = bookClient(registry.url, registry.discoverOptions);
    await untilInstances(client.endpointer, books.length, 5000);
    out(`client: discovers "book" through ${registry.url}; round robin; retry: 3 attempts within 3 s`);

    const c = client;
    const trace = async (call: string, run: () => Promise<string>): Promise<CallRecord> => {
      const from = journal.length;
      let answer: string;
      try {
        answer = await run();
      } catch (err) {
        answer = (err as Error).message;
      }
      const attempts = journal.slice(from);
      // The caller gets the answer of the last attempt; earlier ones failed and were retried.
      const answeredBy = attempts.at(-1)?.instance;
      const path = attempts.map((a) => `${a.instance} ${a.outcome}`).join(', ');
      const shown = attempts.length > 1 || attempts[0]?.outcome !== 'OK';
      out(`  ${pad(call, 20)}${pad(answer, 44)}<- ${answeredBy ?? 'nobody'}${shown ? `   (${path})` : ''}`);
      return { call, answer, answeredBy, attempts };
    };
    const info = (id: number) =>
      trace(`GetBookInfo(${id})`, async () => {
        const book = (await c.GetBookInfo(background(), { id })) as BookInfo;
        return JSON.stringify(book.title);
      });
    const list = (page: number) =>
      trace(`GetBookList(page ${page})`, async () => {
        const res = (await c.GetBookList(background(), { page, page_size: 3 })) as BookList;
        return `${res.books.length} books: ${res.books.map((b) => b.id).join(', ')}`;
      });
    const six = async () => [
      await info(1),
      await info(2),
      await list(1),
      await info(3),
      await info(4),
      await list(2),
    ];

    out('\nRound robin: each call goes to the next instance, whatever the method');
    const first = await six();

    books[1]!.failing = true;
    out(`\n${NAMES[1]} starts answering UNAVAILABLE: retry sends those calls on to the next instance`);
    const second = await six();
    books[1]!.failing = false;

    out('\nA missing book is an answer, not a failure: it is not retried');
    const notFound = await info(99);

    const answered = new Map(NAMES.map((n) => [n, 0]));
    for (const a of journal) if (a.outcome === 'OK') answered.set(a.instance, answered.get(a.instance)! + 1);
    const failed = journal.filter((a) => a.outcome === 'UNAVAILABLE').length;
    out(
      `\ncalls answered per instance: ${[...answered].map(([n, k]) => `${n} ${k}`).join(', ')}; ` +
        `${failed} failed attempts, each retried elsewhere`,
    );
    return {
      instances: served.map((s, i) => ({ id: NAMES[i]!, address: s.address })),
      roundRobin: first,
      withFailure: second,
      notFound,
    };
  } finally {
    // Client first (its channels), then servers (deregister, drain), then the registry client.
    await client?.close();
    await Promise.all(served.map((s) => s.close()));
    await registry.close();
  }
}

function bookClient(url: string, discoverOptions: Parameters<typeof serviceClient>[0]['discoverOptions']) {
  return serviceClient({
    service: 'book',
    discovery: url,
    ...(discoverOptions === undefined ? {} : { discoverOptions }),
    // Both methods only read: declaring them idempotent is what allows retrying them.
    transport: grpc({
      client: BookService,
      methods: { GetBookInfo: { idempotent: true }, GetBookList: { idempotent: true } },
    }),
    balancer: (endpointer) => roundRobin(endpointer),
    retry: { max: 3 },
    timeout: 3000,
  });
}

/**
 * Resolves once the client's endpointer holds `n` instances that take traffic
 * (registration is asynchronous in etcd and Consul, and a gRPC channel that failed its
 * first connection attempt sits out until it reconnects). Polled: availability changes
 * without a new endpoint set.
 */
async function untilInstances(endpointer: Endpointer<any, any>, n: number, ms: number): Promise<void> {
  const ready = () => {
    try {
      return endpointer.current().entries.filter((e) => e.available?.() !== false).length;
    } catch {
      return 0;
    }
  };
  const end = Date.now() + ms;
  while (ready() < n) {
    if (Date.now() > end)
      throw new Error(`book-grpc: only ${ready()} of ${n} instances were ready within ${ms} ms`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

const pad = (s: string, n: number) => (s.length >= n ? `${s} ` : s.padEnd(n));

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const { values } = parseArgs({
    args: process.argv.slice(2).filter((a) => a !== '--'),
    options: { registry: { type: 'string' } },
  });
  try {
    await main(values.registry === undefined ? {} : { registry: values.registry });
  } catch (err) {
    console.error(`book-grpc: ${(err as Error).message}`);
    process.exitCode = 1;
  }
}
