// Real grpc-js servers and clients on 127.0.0.1 for the suites, and the echo service
// loaded both ways: through @grpc/proto-loader and as ts-proto generated code.
import { fileURLToPath } from 'node:url';
import * as grpc from '@grpc/grpc-js';
import * as protoLoader from '@grpc/proto-loader';

export const protoDir = fileURLToPath(new URL('./proto/', import.meta.url));

const packageDefinition = protoLoader.loadSync(`${protoDir}echo.proto`, {
  keepCase: false,
  longs: Number,
  enums: String,
  defaults: true,
  oneofs: true,
});

interface Loaded {
  kitts: { test: { v1: { Echo: grpc.ServiceClientConstructor } } };
}

/** The proto-loader flavour: a client constructor whose `.service` is the service definition. */
export const LoadedEcho = (grpc.loadPackageDefinition(packageDefinition) as unknown as Loaded).kitts.test.v1
  .Echo;

export interface Running {
  server: grpc.Server;
  address: string;
  close(): Promise<void>;
}

/** A grpc-js server on 127.0.0.1 with an OS-chosen port. */
export async function startServer(setup: (server: grpc.Server) => void): Promise<Running> {
  const server = new grpc.Server();
  setup(server);
  const port = await new Promise<number>((resolve, reject) =>
    server.bindAsync('127.0.0.1:0', grpc.ServerCredentials.createInsecure(), (err, p) =>
      err ? reject(err) : resolve(p),
    ),
  );
  return {
    server,
    address: `127.0.0.1:${port}`,
    close: () =>
      new Promise<void>((resolve) => {
        // In-flight calls are the tests' business; a forced shutdown leaves no handle behind.
        server.forceShutdown();
        resolve();
      }),
  };
}

export const insecure = () => grpc.credentials.createInsecure();

/** Resolve when `emitter` emits `event` (used to wait for a cancellation to reach the server). */
export function once<T = unknown>(emitter: NodeJS.EventEmitter, event: string): Promise<T> {
  return new Promise((resolve) => emitter.once(event, resolve));
}

/** A promise and its resolver, for endpoints that wait on the test. */
export function deferred<T = void>(): { promise: Promise<T>; resolve: (v: T) => void } {
  let resolve!: (v: T) => void;
  const promise = new Promise<T>((r) => {
    resolve = r;
  });
  return { promise, resolve };
}
