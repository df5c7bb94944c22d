/**
 * One soak instance: a kitts server (HTTP or gRPC) in its own process, registered in etcd
 * under a lease when given an etcd URL. Run by the soak runner with the config as JSON in
 * argv[2]; it talks back over the IPC channel and exits when that channel closes, so it
 * cannot outlive the runner however the runner dies. SIGKILL is how the churn scenario
 * makes it vanish without deregistering; SIGTERM deregisters, drains and exits.
 *
 * As a warm spare (`standby`) it loads its modules first and starts serving on `start`:
 * the churn figures then measure kitts (listen, register, discovery), not Node's boot.
 */
import type { Server as HttpServer, IncomingMessage } from 'node:http';
import type { Server as GrpcServer } from '@grpc/grpc-js';
import { type ListenAddress, type Served, serve } from '@kitts/client';
import { type Context, KittsError, sleep } from '@kitts/endpoint';
import type { Registrar } from '@kitts/sd';
import type { EtcdRegistrar } from '@kitts/sd-etcd';
import { CLIENT_TAG, Item, ItemKey, type Reply, Search } from './echo.js';
import { resilientEtcdOptions } from './etcd-options.js';
import type { FromInstance, InstanceConfig, InstanceStats, ToInstance } from './protocol.js';
import { makeRng } from './rng.js';

const config = JSON.parse(process.argv[2] ?? '{}') as InstanceConfig;
const send = (m: FromInstance) => process.send?.(m);

let failRate = config.failRate ?? 0;
let delayMs = config.delayMs ?? 0;
const random = makeRng(config.seed ?? 1);
const hits: Record<string, number> = {};
const answers: Record<string, number> = {};
const count = (table: Record<string, number>, k: string) => {
  table[k] = (table[k] ?? 0) + 1;
};

/** The echo method: counts the caller, takes `delayMs`, fails `failRate` of the calls. */
async function echo(ctx: Context, key: string, n: number, tag: string): Promise<Reply> {
  count(hits, tag);
  if (delayMs > 0) await sleep(ctx, delayMs);
  if (failRate > 0 && random() < failRate) {
    throw new KittsError('SOAK_INJECTED', 'injected failure', { statusCode: 500 });
  }
  return { key, served_by: config.id, n };
}

const tagOf = (v: unknown) => (typeof v === 'string' && v !== '' ? v.slice(0, 32) : 'default');

async function httpServer(): Promise<HttpServer> {
  const { createServer } = await import('node:http');
  const { createHandler, createRouter, encodeJSON, jsonBody, pathParams, query } = await import(
    '@kitts/transport-http'
  );
  const finalizer = (_ctx: Context, info: { statusCode: number }) => count(answers, String(info.statusCode));
  const tagged = new WeakMap<Context, string>();
  const options = {
    finalizer,
    before: [
      (ctx: Context, req: IncomingMessage) => {
        tagged.set(ctx, tagOf(req.headers[CLIENT_TAG]));
      },
    ],
  };
  const get = createHandler(
    (ctx, req: { key: string }) => echo(ctx, req.key, 0, tagged.get(ctx) ?? 'default'),
    pathParams(ItemKey),
    encodeJSON,
    options,
  );
  const post = createHandler(
    (ctx, req: { key: string; n: number }) => echo(ctx, req.key, req.n, tagged.get(ctx) ?? 'default'),
    jsonBody(Item, { limit: 64 * 1024 }),
    encodeJSON,
    options,
  );
  const search = createHandler(
    async (_ctx, req: { q: string; page?: number | undefined }) => ({ q: req.q, page: req.page ?? 1 }),
    query(Search),
    encodeJSON,
    { finalizer },
  );
  return createServer(
    createRouter([
      { method: 'GET', path: '/items/:key', handler: get },
      { method: 'POST', path: '/items', handler: post },
      { method: 'GET', path: '/search', handler: search },
    ]),
  );
}

async function grpcServer(): Promise<GrpcServer> {
  const { Server } = await import('@grpc/grpc-js');
  const { createUnaryHandler, schemaDecoder, statusName } = await import('@kitts/transport-grpc');
  const { echoClient } = await import('./echo.js');
  const server = new Server();
  const tagged = new WeakMap<Context, string>();
  server.addService((await echoClient()).service, {
    Get: createUnaryHandler(
      (ctx, req: { key: string; n: number }) => echo(ctx, req.key, req.n, tagged.get(ctx) ?? 'default'),
      schemaDecoder(Item),
      (_ctx, reply: Reply) => reply,
      {
        before: (ctx, metadata) => {
          tagged.set(ctx, tagOf(metadata.get(CLIENT_TAG)[0]));
        },
        finalizer: (_ctx, info) => count(answers, statusName(info.code)),
      },
    ),
  });
  return server;
}

/** Registers until it succeeds: an instance started while etcd is down joins once it is back. */
function retrying(inner: Registrar, stopping: () => boolean): Registrar {
  return {
    async register() {
      for (let attempt = 0; ; attempt++) {
        try {
          await inner.register();
          send({ type: 'registered', at: Date.now() });
          return;
        } catch (err) {
          if (stopping()) throw err;
          await new Promise((r) => setTimeout(r, Math.min(100 * 2 ** attempt, 1000)));
        }
      }
    },
    deregister: () => inner.deregister(),
  };
}

function stats(gc: boolean): InstanceStats {
  if (gc) {
    // Twice: the first pass may only queue finalizers that free more on the second.
    globalThis.gc?.();
    globalThis.gc?.();
  }
  const resources: Record<string, number> = {};
  for (const r of process.getActiveResourcesInfo()) count(resources, r);
  const m = process.memoryUsage();
  return { hits: { ...hits }, answers: { ...answers }, heapUsed: m.heapUsed, rss: m.rss, resources };
}

async function main(): Promise<void> {
  let stopping = false;
  let registrar: EtcdRegistrar | undefined;
  let served: Promise<Served> | undefined;
  const stop = async () => {
    if (stopping) return;
    stopping = true;
    const s = await served?.catch(() => undefined);
    await s?.close().catch(() => {});
    await registrar?.close().catch(() => {});
    process.exit(0);
  };
  process.on('SIGTERM', () => void stop());
  // The runner is gone (it exited, crashed or was killed): so are we.
  process.on('disconnect', () => void stop());

  let go: () => void = () => {};
  const started = new Promise<void>((resolve) => {
    go = resolve;
  });
  process.on('message', (m: ToInstance) => {
    if (m.type === 'start') go();
    else if (m.type === 'configure') {
      if (m.failRate !== undefined) failRate = m.failRate;
      if (m.delayMs !== undefined) delayMs = m.delayMs;
    } else if (m.type === 'stats') {
      send({ type: 'stats', ref: m.ref, stats: stats(m.gc === true) });
      if (m.reset === true) for (const k of Object.keys(hits)) delete hits[k];
    }
  });

  const server = config.transport === 'grpc' ? await grpcServer() : await httpServer();
  const { etcdRegistrar } =
    config.etcd === undefined ? { etcdRegistrar: undefined } : await import('@kitts/sd-etcd');
  if (config.standby === true) {
    send({ type: 'loaded', at: Date.now() });
    await started;
  }
  served = serve({
    server,
    signals: false,
    drainTimeout: 1000,
    // Built once the port is known (the server listens on port 0).
    registrar: (address: ListenAddress) => {
      send({ type: 'listening', port: address.port, at: Date.now() });
      if (etcdRegistrar === undefined || config.etcd === undefined) {
        return { register: async () => {}, deregister: async () => {} };
      }
      registrar = etcdRegistrar(resilientEtcdOptions(config.etcd), {
        prefix: config.prefix ?? '/soak/echo',
        instance: { id: config.id, address: address.address },
        ttl: config.ttl ?? 2,
      });
      return retrying(registrar, () => stopping);
    },
  });
  await served;
}

main().catch((err: unknown) => {
  send({ type: 'failed', message: err instanceof Error ? err.message : String(err) });
  process.exit(1);
});
