// The three instances of Arith: one Mul endpoint, served three ways (gRPC over TCP, HTTP
// over TCP, HTTP over a unix socket). The endpoint honours its context: when the caller
// cancels or its deadline passes, it stops and says so in the server's event log.
import { rm } from 'node:fs/promises';
import { createServer, type Server as HttpServer } from 'node:http';
import { Server as GrpcServer, ServerCredentials } from '@grpc/grpc-js';
import { codeOf, type Endpoint, sleep } from '@kitts/endpoint';
import { createUnaryHandler } from '@kitts/transport-grpc';
import {
  createHandler,
  createRouter,
  type DecodeRequestFunc,
  encodeJSON,
  jsonBody,
  shutdown,
} from '@kitts/transport-http';
import { type Args, Arith, type Reply } from './proto.js';

/** Something a server saw: a call it stopped because its context ended. */
export interface ServerEvent {
  readonly instance: string;
  readonly call: string;
  /** The context's error code: CANCELED (the caller went away) or DEADLINE_EXCEEDED. */
  readonly code: string | undefined;
  readonly message: string;
  readonly afterMs: number;
}

export interface ArithInstance {
  /** `protocol@address`, as the client's list names it. */
  readonly name: string;
  /** Each call takes this long (ms), waiting on its context; 0 by default. */
  delay: number;
  close(): Promise<void>;
}

interface State {
  name: string;
  delay: number;
}

function mul(state: State, events: ServerEvent[]): Endpoint<Args, Reply> {
  return async (ctx, { a, b }) => {
    if (state.delay > 0) {
      const t0 = performance.now();
      try {
        await sleep(ctx, state.delay); // ends early, with the context's error, if the context ends
      } catch (err) {
        events.push({
          instance: state.name,
          call: `Mul(${a}, ${b})`,
          code: codeOf(err),
          message: (err as Error).message,
          afterMs: Math.round(performance.now() - t0),
        });
        throw err;
      }
    }
    return { c: a * b, served_by: state.name };
  };
}

const same = <T>(_ctx: unknown, x: T) => x;

/** `tcp@127.0.0.1:PORT`: Mul over gRPC. */
export async function grpcInstance(events: ServerEvent[]): Promise<ArithInstance> {
  const state: State = { name: '', delay: 0 };
  const server = new GrpcServer();
  server.addService(Arith.service, { Mul: createUnaryHandler(mul(state, events), same, same) });
  const port = await new Promise<number>((resolve, reject) =>
    server.bindAsync('127.0.0.1:0', ServerCredentials.createInsecure(), (err, p) =>
      err ? reject(err) : resolve(p),
    ),
  );
  state.name = `tcp@127.0.0.1:${port}`;
  return instance(state, async () => {
    await new Promise<void>((resolve) => {
      const force = setTimeout(() => {
        server.forceShutdown();
        resolve();
      }, 1000);
      server.tryShutdown(() => {
        clearTimeout(force);
        resolve();
      });
    });
  });
}

function httpServer(state: State, events: ServerEvent[]): HttpServer {
  const decode = jsonBody() as DecodeRequestFunc<Args>;
  return createServer(
    createRouter([
      { method: 'POST', path: '/arith/mul', handler: createHandler(mul(state, events), decode, encodeJSON) },
    ]),
  );
}

/** `http@127.0.0.1:PORT`: Mul as `POST /arith/mul` with JSON. */
export async function httpInstance(events: ServerEvent[]): Promise<ArithInstance> {
  const state: State = { name: '', delay: 0 };
  const server = httpServer(state, events);
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  state.name = `http@127.0.0.1:${(server.address() as { port: number }).port}`;
  return instance(state, () => shutdown(server, { timeout: 1000 }));
}

/** `unix@PATH`: the same HTTP service on a unix socket. */
export async function unixInstance(path: string, events: ServerEvent[]): Promise<ArithInstance> {
  const state: State = { name: `unix@${path}`, delay: 0 };
  const server = httpServer(state, events);
  await rm(path, { force: true }); // a socket file left by a killed run would make listen fail
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(path, () => resolve());
  });
  return instance(state, async () => {
    await shutdown(server, { timeout: 1000 });
    await rm(path, { force: true });
  });
}

function instance(state: State, close: () => Promise<void>): ArithInstance {
  return {
    get name() {
      return state.name;
    },
    get delay() {
      return state.delay;
    },
    set delay(ms: number) {
      state.delay = ms;
    },
    close,
  };
}
