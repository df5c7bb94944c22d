/**
 * Leaks: many create / use / close cycles of the long-lived kitts objects (an Endpointer,
 * serviceClients over HTTP and gRPC, etcd registrars, HTTP and gRPC servers under
 * serve()), in this process. After each kind, the handles that keep the event loop alive
 * must be back to their count before it, and the heap (after a full GC) near it.
 */
import { createServer, get } from 'node:http';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import * as grpcjs from '@grpc/grpc-js';
import { serve } from '@kitts/client';
import { background, type Endpoint } from '@kitts/endpoint';
import { Endpointer, MemoryRegistry } from '@kitts/sd';
import { etcdRegistrar } from '@kitts/sd-etcd';
import { activeResources, settle } from '@kitts/testkit';
import { createUnaryHandler } from '@kitts/transport-grpc';
import { createHandler, createRouter, encodeJSON, pathParams } from '@kitts/transport-http';
import { echoServiceClient } from '../clients.js';
import { echoClient, ItemKey } from '../echo.js';
import { Reporter, type ScenarioReport } from '../report.js';

export interface LeakOptions {
  /** Cycles of each kind (the etcd registrar does a tenth of them, at least 10: each opens a gRPC channel). */
  cycles: number;
  etcd: { endpoint: string };
  heapTolerance?: number;
  log?: (line: string) => void;
}

const MiB = 1024 * 1024;
const ctx = background();

let gcFn: (() => void) | undefined;
/** A full GC, twice (the first may only queue finalizers). Exposed at run time if Node was not started with it. */
function fullGc(): void {
  if (gcFn === undefined) {
    const g = (globalThis as { gc?: () => void }).gc;
    if (g !== undefined) gcFn = g;
    else {
      setFlagsFromString('--expose-gc');
      gcFn = runInNewContext('gc') as () => void;
    }
  }
  gcFn();
  gcFn();
}

interface Measured {
  kind: string;
  cycles: number;
  handles: string[];
  heapBefore: number;
  heapAfter: number;
}

async function measure(kind: string, cycles: number, cycle: (i: number) => Promise<void>): Promise<Measured> {
  // A few cycles first: what a first use initialises once is not a leak.
  for (let i = 0; i < Math.max(3, Math.ceil(cycles / 20)); i++) await cycle(i);
  await settle(100);
  fullGc();
  const before = activeResources();
  const heapBefore = process.memoryUsage().heapUsed;
  for (let i = 0; i < cycles; i++) await cycle(i);
  // Closed sockets and channels finish closing on the next turns of the loop; etcd3 can
  // re-arm a lease's TTL timer after revoke() (a keepalive answer in flight), so up to 7 s.
  let handles: string[] = [];
  for (let tries = 0; tries < 70; tries++) {
    await settle(100);
    handles = [];
    for (const [k, n] of activeResources()) {
      const b = before.get(k) ?? 0;
      if (n > b) handles.push(`${k} ${b} -> ${n}`);
    }
    if (handles.length === 0) break;
  }
  fullGc();
  return { kind, cycles, handles, heapBefore, heapAfter: process.memoryUsage().heapUsed };
}

export async function leaks(o: LeakOptions): Promise<ScenarioReport> {
  const { cycles, heapTolerance = 4 * MiB, log = () => {} } = o;
  const rep = new Reporter('leaks', 'Leaks: create / use / close cycles');
  const results: Measured[] = [];

  // An Endpointer over a MemoryRegistry: subscribe, build endpoints, call one, close.
  const registry = new MemoryRegistry();
  for (const id of ['a', 'b', 'c'])
    registry.registrar('svc', { id, address: `10.0.0.1:${id.charCodeAt(0)}` }).register();
  const factory = (): Endpoint<string, string> => async (_c, r) => r;
  results.push(
    await measure('Endpointer', cycles, async () => {
      const instancer = registry.instancer('svc');
      const e = new Endpointer(instancer, factory);
      await e.current().entries[0]!.endpoint(ctx, 'x');
      await e.close();
      await instancer.close();
    }),
  );
  registry.close();
  log(`leaks: Endpointer done`);

  // serviceClients over HTTP and gRPC against one server each (static discovery).
  const http = await serve({
    server: createServer(
      createRouter([
        {
          method: 'GET',
          path: '/items/:key',
          handler: createHandler(
            async (_c, r: { key: string }) => ({ key: r.key, served_by: 'h', n: 0 }),
            pathParams(ItemKey),
            encodeJSON,
          ),
        },
      ]),
    ),
    signals: false,
    drainTimeout: 200,
  });
  const g = new grpcjs.Server();
  g.addService((await echoClient()).service, {
    Get: createUnaryHandler(
      async (_c, r: { key: string }) => ({ key: r.key, served_by: 'g', n: 0 }),
      (_c, m: { key: string }) => m,
      (_c, r: unknown) => r,
    ),
  });
  const grpc = await serve({ server: g, signals: false, drainTimeout: 200 });
  try {
    for (const transport of ['http', 'grpc'] as const) {
      const address = transport === 'http' ? http.address : grpc.address;
      results.push(
        await measure(`serviceClient over ${transport === 'http' ? 'HTTP' : 'gRPC'}`, cycles, async () => {
          const client = await echoServiceClient({
            transport,
            discovery: `static://${address}`,
            timeout: 2000,
          });
          await client.ready(2000);
          await client.get(ctx, 'k');
          await client.close();
        }),
      );
      log(`leaks: serviceClient over ${transport} done`);
    }
  } finally {
    await http.close();
    await grpc.close();
  }

  // serve() of an HTTP and a gRPC server: listen, answer a call, deregister, drain, close.
  results.push(
    await measure('serve() HTTP server', cycles, async () => {
      const s = await serve({
        server: createServer((_req, res) => res.end('ok')),
        signals: false,
        drainTimeout: 200,
      });
      await new Promise<void>((resolve, reject) => {
        get({ host: s.host, port: s.port, path: '/', agent: false }, (res) => {
          res.resume();
          res.on('end', resolve);
        }).on('error', reject);
      });
      await s.close();
    }),
  );
  log('leaks: HTTP servers done');
  const Echo = await echoClient();
  results.push(
    await measure('serve() gRPC server', cycles, async () => {
      const server = new grpcjs.Server();
      server.addService(Echo.service, {
        Get: createUnaryHandler(
          async () => ({ key: 'k', served_by: 's', n: 0 }),
          (_c, m) => m,
          (_c, r) => r,
        ),
      });
      const s = await serve({ server, signals: false, drainTimeout: 200 });
      const c = new Echo(s.address, grpcjs.credentials.createInsecure());
      await new Promise((resolve, reject) =>
        (c as unknown as { Get: (r: unknown, cb: (e: Error | null, v: unknown) => void) => void }).Get(
          { key: 'k', n: 0 },
          (e, v) => (e ? reject(e) : resolve(v)),
        ),
      );
      c.close();
      await s.close();
    }),
  );
  log('leaks: gRPC servers done');

  // etcd registrars with their own client: register under a lease, deregister, close.
  const etcdCycles = Math.max(10, Math.ceil(cycles / 10));
  results.push(
    await measure('etcdRegistrar (own etcd3 client)', etcdCycles, async (i) => {
      const r = etcdRegistrar(
        { hosts: o.etcd.endpoint },
        { prefix: '/soak-leaks/svc', instance: { id: `r${i}`, address: '127.0.0.1:1' }, ttl: 5 },
      );
      await r.register();
      await r.close();
    }),
  );
  log('leaks: etcd registrars done');

  for (const m of results) {
    rep.zero(
      `${m.kind}: handles above the baseline after ${m.cycles.toLocaleString('en-US')} cycles`,
      m.handles.length,
    );
    rep.below(
      `${m.kind}: heap growth (full GC)`,
      (m.heapAfter - m.heapBefore) / MiB,
      heapTolerance / MiB,
      'MiB',
    );
    if (m.handles.length > 0) rep.note(`${m.kind}: ${m.handles.join(', ')}.`);
  }
  rep.table = [
    ['object', 'cycles', 'heap before', 'heap after', 'per cycle'],
    ...results.map((m) => [
      m.kind,
      m.cycles.toLocaleString('en-US'),
      `${(m.heapBefore / MiB).toFixed(1)} MiB`,
      `${(m.heapAfter / MiB).toFixed(1)} MiB`,
      `${Math.round((m.heapAfter - m.heapBefore) / m.cycles).toLocaleString('en-US')} B`,
    ]),
  ];
  rep.note(
    'Handles are process.getActiveResourcesInfo() (timers, sockets, servers) counted before and after each ' +
      'kind; the heap is measured after two full GCs. Each serviceClient cycle builds the client, waits for ' +
      'its instance, makes one call and closes it; each registrar cycle opens its own etcd3 client.',
  );
  return rep.report();
}
