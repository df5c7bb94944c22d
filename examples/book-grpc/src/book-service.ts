// The server side: the book service as two kitts Endpoints, served over gRPC by
// createUnaryHandler. Each instance writes every call it sees to a shared journal, so the
// example can show which instances a client call went through, failed attempts included.
import { Server } from '@grpc/grpc-js';
import type { Endpoint, Middleware } from '@kitts/endpoint';
import { createUnaryHandler, GrpcError, Status, statusName } from '@kitts/transport-grpc';
import {
  type BookInfo,
  type BookInfoRequest,
  type BookList,
  type BookListRequest,
  BookService,
} from './proto.js';

const CATALOG: readonly Omit<BookInfo, 'served_by'>[] = [
  { id: 1, title: 'The Go Programming Language', author: 'Alan Donovan, Brian Kernighan' },
  { id: 2, title: 'Designing Data-Intensive Applications', author: 'Martin Kleppmann' },
  { id: 3, title: 'Site Reliability Engineering', author: 'Betsy Beyer et al.' },
  { id: 4, title: 'Release It!', author: 'Michael Nygard' },
  { id: 5, title: 'Programming TypeScript', author: 'Boris Cherny' },
  { id: 6, title: 'The Art of Multiprocessor Programming', author: 'Maurice Herlihy, Nir Shavit' },
];

/** One call as an instance saw it: `outcome` is 'OK' or the gRPC status it answered. */
export interface Attempt {
  readonly instance: string;
  readonly method: string;
  readonly outcome: string;
}

export interface BookInstance {
  readonly name: string;
  readonly server: Server;
  /** While true, every call answers UNAVAILABLE (an instance shedding load). */
  failing: boolean;
}

export function bookInstance(name: string, journal: Attempt[]): BookInstance {
  const instance: BookInstance = { name, server: new Server(), failing: false };

  const getBookInfo: Endpoint<BookInfoRequest, BookInfo> = async (_ctx, { id }) => {
    const book = CATALOG.find((b) => b.id === id);
    // NOT_FOUND is an answer, not a failure: the client's retry leaves it alone.
    if (book === undefined) throw new GrpcError(Status.NOT_FOUND, `no book with id ${id}`);
    return { ...book, served_by: name };
  };
  const getBookList: Endpoint<BookListRequest, BookList> = async (_ctx, { page, page_size }) => {
    const size = page_size > 0 ? page_size : 3;
    const first = (Math.max(page, 1) - 1) * size;
    const books = CATALOG.slice(first, first + size).map((b) => ({ ...b, served_by: name }));
    return { books, page: Math.max(page, 1), served_by: name };
  };

  // Outermost: the journal sees what the client sees; then the switch that breaks the instance.
  function around<Req, Res>(method: string): Middleware<Req, Res> {
    return (next) => async (ctx, req) => {
      try {
        if (instance.failing) throw new GrpcError(Status.UNAVAILABLE, `${name} is shedding load`);
        const res = await next(ctx, req);
        journal.push({ instance: name, method, outcome: 'OK' });
        return res;
      } catch (err) {
        const code = err instanceof GrpcError ? err.code : Status.UNKNOWN;
        journal.push({ instance: name, method, outcome: statusName(code) });
        throw err;
      }
    };
  }

  const same = <T>(_ctx: unknown, x: T) => x;
  instance.server.addService(BookService.service, {
    GetBookInfo: createUnaryHandler(
      around<BookInfoRequest, BookInfo>('GetBookInfo')(getBookInfo),
      same,
      same,
    ),
    GetBookList: createUnaryHandler(
      around<BookListRequest, BookList>('GetBookList')(getBookList),
      same,
      same,
    ),
  });
  return instance;
}
