// bench/transport-http: a JSON echo over HTTP, kitts on either side against the raw
// baseline (undici `request` -> node:http handler), same payload, same concurrency.
// The servers run in a worker thread so that client and server have an event loop each.
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { isMainThread, parentPort, Worker, workerData } from 'node:worker_threads';
import { background, type Context, withTimeout } from '@kitts/endpoint';
import {
  createClient,
  createHandler,
  encodeJSON,
  jsonBody,
  jsonRequest,
  jsonResponse,
} from '@kitts/transport-http';
import { Pool } from 'undici';
import { fmtNs, group } from './harness.js';

const CONCURRENCY = 16;
const ROLE = 'kitts-bench-transport-http-servers';

const payload = {
  id: 'order-8c1f2e',
  customer: { id: 42, name: 'Ada Lovelace', email: 'ada@example.com' },
  items: Array.from({ length: 5 }, (_, i) => ({ sku: `SKU-${1000 + i}`, qty: i + 1, price: 9.99 * (i + 1) })),
  tags: ['priority', 'gift', 'eu'],
  note: 'leave at the door',
};
const body = JSON.stringify(payload);

// --- the servers (worker thread) ------------------------------------------------------

function rawHandler(req: IncomingMessage, res: ServerResponse): void {
  const chunks: Buffer[] = [];
  req.on('data', (c: Buffer) => chunks.push(c));
  req.on('end', () => {
    const text = JSON.stringify(JSON.parse(Buffer.concat(chunks).toString('utf8')));
    res.writeHead(200, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text) });
    res.end(text);
  });
}

const kittsHandler = createHandler(
  (_ctx: Context, order: unknown) => Promise.resolve(order),
  jsonBody(),
  encodeJSON,
);

async function startServers(): Promise<void> {
  const listen = (s: Server) =>
    new Promise<number>((resolve) =>
      s.listen(0, '127.0.0.1', () => {
        const a = s.address();
        resolve(typeof a === 'object' && a !== null ? a.port : 0);
      }),
    );
  const raw = createServer(rawHandler);
  const kitts = createServer(kittsHandler);
  const ports = { raw: await listen(raw), kitts: await listen(kitts) };
  parentPort!.postMessage(ports);
  parentPort!.once('message', () => {
    raw.closeAllConnections();
    kitts.closeAllConnections();
    raw.close();
    kitts.close();
  });
}

if (!isMainThread && workerData === ROLE) void startServers();

// --- the clients (main thread) --------------------------------------------------------

export async function run(): Promise<void> {
  // A worker does not inherit tsx's loader on Node 20: register it first, then load this file.
  const boot = `import('tsx/esm/api').then((t) => { t.register(); return import(${JSON.stringify(import.meta.url)}); })`;
  const worker = new Worker(boot, { eval: true, workerData: ROLE });
  const ports = await new Promise<{ raw: number; kitts: number }>((resolve) =>
    worker.once('message', resolve),
  );
  const rawUrl = `http://127.0.0.1:${ports.raw}`;
  const kittsUrl = `http://127.0.0.1:${ports.kitts}`;
  const pools = [
    new Pool(rawUrl, { connections: CONCURRENCY }),
    new Pool(kittsUrl, { connections: CONCURRENCY }),
  ];
  const [rawPool, kittsPool] = pools as [Pool, Pool];

  const undiciCall = (pool: Pool) => async () => {
    const res = await pool.request({
      path: '/',
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body,
    });
    return res.body.json();
  };
  const kittsCall = (pool: Pool, url: string, deadline: boolean) => {
    const client = createClient('POST', url, jsonRequest, jsonResponse(), { dispatcher: pool });
    const ctx = background();
    if (!deadline) return () => client(ctx, payload);
    return async () => {
      const [c, cancel] = withTimeout(ctx, 5000);
      try {
        return await client(c, payload);
      } finally {
        cancel();
      }
    };
  };
  const fetchCall = async () => {
    const res = await fetch(rawUrl, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body,
    });
    return res.json();
  };

  const baseline = { name: 'undici request -> node:http handler (baseline)', call: undiciCall(rawPool) };
  await measure(
    `JSON echo (${body.length} B), ${CONCURRENCY} requests in flight; ns/op is one batch of ${CONCURRENCY}`,
    [
      baseline,
      { name: 'undici request -> kitts server', call: undiciCall(kittsPool) },
      { name: 'kitts client -> node:http handler', call: kittsCall(rawPool, rawUrl, false) },
      { name: 'kitts client -> kitts server', call: kittsCall(kittsPool, kittsUrl, false) },
      { name: 'kitts client, 5 s deadline -> kitts server', call: kittsCall(kittsPool, kittsUrl, true) },
      // The baseline again, last in each round: how far apart two identical cases land is the noise.
      { name: 'baseline again (noise control)', call: baseline.call },
    ],
  );
  // fetch in a group of its own: its garbage would otherwise land in the next case's batch.
  await measure('reference: fetch, same payload and concurrency', [
    baseline,
    { name: 'fetch -> node:http handler', call: fetchCall },
  ]);

  await Promise.all(pools.map((p) => p.close()));
  worker.postMessage('stop');
  await new Promise((resolve) => worker.once('exit', resolve));
}

/** Run cases through the harness (interleaved rounds), then print requests/s and p99 per case. */
async function measure(
  title: string,
  cases: { name: string; call: () => Promise<unknown> }[],
): Promise<void> {
  // Each operation is CONCURRENCY requests in flight together; each request's latency is kept.
  const latencies = cases.map(() => [] as number[]);
  // CPU time of the whole process (client thread + server worker) per case: on a shared
  // machine it moves much less than wall-clock time, which waits for other people's work.
  const cpu = cases.map(() => 0);
  const ops = cases.map((c, i) => ({
    name: c.name,
    fn: async () => {
      const cpu0 = process.cpuUsage();
      const all: Promise<void>[] = [];
      for (let k = 0; k < CONCURRENCY; k++) {
        const t0 = process.hrtime.bigint();
        all.push(
          c.call().then(() => {
            latencies[i]!.push(Number(process.hrtime.bigint() - t0));
          }),
        );
      }
      await Promise.all(all);
      const used = process.cpuUsage(cpu0);
      cpu[i]! += used.user + used.system;
    },
  }));
  // Warm up outside the measurement, so the latencies below hold measured rounds only.
  for (const op of ops) for (let r = 0; r < 60; r++) await op.fn();
  for (const l of latencies) l.length = 0;
  cpu.fill(0);

  const results = await group(title, ops, { batch: 15, rounds: 15, warmup: 0 });
  const rows = results.map((r, i) => {
    const sorted = latencies[i]!.sort((a, b) => a - b);
    const p99 = sorted[Math.min(sorted.length - 1, Math.floor(sorted.length * 0.99))] ?? 0;
    return { name: r.name, rps: (CONCURRENCY * 1e9) / r.nsPerOp, p99, cpu: cpu[i]! / sorted.length };
  });
  const base = rows[0]!;
  console.log(
    '\n| case | requests/s | vs baseline | p99 | p99 vs baseline | CPU/request | CPU vs baseline |',
  );
  console.log('| --- | ---: | ---: | ---: | ---: | ---: | ---: |');
  for (const r of rows) {
    console.log(
      `| ${r.name} | ${Math.round(r.rps)} | ${(r.rps / base.rps).toFixed(2)}x | ${fmtNs(r.p99)} | ${(r.p99 / base.p99).toFixed(2)}x | ${r.cpu.toFixed(0)} µs | ${(r.cpu / base.cpu).toFixed(2)}x |`,
    );
  }
}
