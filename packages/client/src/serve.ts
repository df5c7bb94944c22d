/**
 * serve(): the server side of a service. Start listening, register the instance, and on
 * SIGTERM/SIGINT or close(): deregister first (so clients stop picking this instance),
 * then drain in-flight calls until `drainTimeout`, then close what is left.
 */
import type { AddressInfo } from 'node:net';
import { type Logger, silentLogger } from '@kitts/endpoint';
import type { Registrar } from '@kitts/sd';

/** A node:http / node:https server (Express and Fastify expose theirs). */
interface NodeServer {
  listen(port: number, host: string, cb: () => void): unknown;
  address(): AddressInfo | string | null;
  close(cb?: (err?: Error) => void): unknown;
  closeIdleConnections?(): void;
  closeAllConnections?(): void;
  once(event: 'error', cb: (err: Error) => void): unknown;
  removeListener(event: 'error', cb: (err: Error) => void): unknown;
  listening?: boolean;
}

/** A @grpc/grpc-js Server. */
interface GrpcServer {
  bindAsync(address: string, credentials: unknown, cb: (err: Error | null, port: number) => void): void;
  tryShutdown(cb: (err?: Error) => void): void;
  forceShutdown(): void;
}

export interface ListenAddress {
  host: string;
  port: number;
  /** `host:port`, as an Instance address. */
  address: string;
}

export interface ServeOptions {
  server: NodeServer | GrpcServer;
  /** Port to listen on; 0 (default) picks a free one. */
  port?: number;
  /** Default 127.0.0.1. */
  host?: string;
  /** gRPC server credentials; insecure by default. */
  credentials?: unknown;
  /** The registrar, or a function building it once the address is known (port 0). Optional: a server may serve without registering. */
  registrar?: Registrar | ((address: ListenAddress) => Registrar);
  /** How long close() waits for in-flight calls before closing connections. Default 10_000 ms. */
  drainTimeout?: number;
  /** Close on these signals (default SIGTERM and SIGINT); `false` for none. */
  signals?: readonly NodeJS.Signals[] | false;
  logger?: Logger;
}

export interface Served extends ListenAddress {
  readonly registrar: Registrar | undefined;
  /** Deregister, drain and close. Idempotent. */
  close(): Promise<void>;
}

export async function serve(options: ServeOptions): Promise<Served> {
  const { server, port = 0, host = '127.0.0.1', drainTimeout = 10_000, logger = silentLogger } = options;
  const grpcServer = isGrpc(server) ? server : undefined;
  const bound = grpcServer
    ? await listenGrpc(grpcServer, host, port, options.credentials)
    : await listenHttp(server as NodeServer, host, port);
  const address: ListenAddress = { host, port: bound, address: `${host}:${bound}` };
  const registrar = typeof options.registrar === 'function' ? options.registrar(address) : options.registrar;

  let closing: Promise<void> | undefined;
  const signals = options.signals === false ? [] : (options.signals ?? (['SIGTERM', 'SIGINT'] as const));
  const onSignal = (signal: NodeJS.Signals) => {
    logger.info({ signal }, `kitts/client: ${signal}: deregistering and draining`);
    void close();
  };
  const close = (): Promise<void> => {
    closing ??= (async () => {
      for (const s of signals) process.removeListener(s, onSignal);
      if (registrar !== undefined) {
        try {
          await registrar.deregister();
        } catch (err) {
          logger.error({ err }, 'kitts/client: deregister failed; closing anyway');
        }
      }
      if (grpcServer) await drainGrpc(grpcServer, drainTimeout);
      else await drainHttp(server as NodeServer, drainTimeout);
    })();
    return closing;
  };

  try {
    await registrar?.register();
  } catch (err) {
    await close().catch(() => {});
    throw err;
  }
  for (const s of signals) process.on(s, onSignal);
  return { ...address, registrar, close };
}

function isGrpc(s: unknown): s is GrpcServer {
  return (
    typeof (s as GrpcServer).bindAsync === 'function' && typeof (s as GrpcServer).forceShutdown === 'function'
  );
}

async function listenHttp(server: NodeServer, host: string, port: number): Promise<number> {
  if (server.listening !== true) {
    await new Promise<void>((resolve, reject) => {
      const onError = (err: Error) => reject(err);
      server.once('error', onError);
      server.listen(port, host, () => {
        server.removeListener('error', onError);
        resolve();
      });
    });
  }
  const a = server.address();
  if (a === null || typeof a === 'string') throw new Error('kitts/client: serve() needs a TCP server');
  return a.port;
}

async function listenGrpc(
  server: GrpcServer,
  host: string,
  port: number,
  credentials: unknown,
): Promise<number> {
  const creds = credentials ?? (await import('@grpc/grpc-js')).ServerCredentials.createInsecure();
  return new Promise<number>((resolve, reject) => {
    server.bindAsync(`${host}:${port}`, creds, (err, bound) => (err ? reject(err) : resolve(bound)));
  });
}

async function drainHttp(server: NodeServer, timeout: number): Promise<void> {
  const closed = new Promise<void>((resolve) => server.close(() => resolve()));
  // Keep-alive connections with no request in flight would hold close() open forever.
  server.closeIdleConnections?.();
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<'late'>((resolve) => {
    timer = setTimeout(() => resolve('late'), timeout);
  });
  const idle = setInterval(() => server.closeIdleConnections?.(), 100);
  try {
    if ((await Promise.race([closed, late])) === 'late') {
      server.closeAllConnections?.();
      await closed;
    }
  } finally {
    clearTimeout(timer);
    clearInterval(idle);
  }
}

async function drainGrpc(server: GrpcServer, timeout: number): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  await new Promise<void>((resolve) => {
    timer = setTimeout(() => {
      server.forceShutdown();
      resolve();
    }, timeout);
    server.tryShutdown(() => resolve());
  });
  clearTimeout(timer);
}
