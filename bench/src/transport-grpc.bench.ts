// bench/transport-grpc: unary calls over loopback, kitts client -> kitts server against
// raw grpc-js client -> raw grpc-js server: same proto (proto-loader), same payload, same
// concurrency, in one process and one run. Clients and servers share the machine's cores.
import { fileURLToPath } from 'node:url';
import * as grpc from '@grpc/grpc-js';
import * as protoLoader from '@grpc/proto-loader';
import { background, type Context, type Endpoint, withTimeout } from '@kitts/endpoint';
import { createUnaryClient, createUnaryHandler } from '@kitts/transport-grpc';
import { fmtNs, group } from './harness.js';

interface Msg {
  message: string;
  number: number;
  tags: string[];
}

type Call = () => Promise<unknown>;

const proto = fileURLToPath(new URL('../../packages/transport-grpc/test/proto/echo.proto', import.meta.url));
const CONCURRENCY = 16;
const CALLS = 8_000;
const ROUNDS = 3;

function load(): grpc.ServiceClientConstructor {
  const def = protoLoader.loadSync(proto, { longs: Number, enums: String, defaults: true });
  const pkg = grpc.loadPackageDefinition(def) as unknown as {
    kitts: { test: { v1: { Echo: grpc.ServiceClientConstructor } } };
  };
  return pkg.kitts.test.v1.Echo;
}

async function listen(server: grpc.Server): Promise<string> {
  const port = await new Promise<number>((resolve, reject) =>
    server.bindAsync('127.0.0.1:0', grpc.ServerCredentials.createInsecure(), (e, p) =>
      e ? reject(e) : resolve(p),
    ),
  );
  return `127.0.0.1:${port}`;
}

/** `calls` calls from `concurrency` workers; calls/s and latency percentiles. */
async function load_(call: Call, calls: number, concurrency: number) {
  const latencies = new Float64Array(calls);
  let next = 0;
  const t0 = process.hrtime.bigint();
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (next < calls) {
        const i = next++;
        const s = process.hrtime.bigint();
        await call();
        latencies[i] = Number(process.hrtime.bigint() - s);
      }
    }),
  );
  const seconds = Number(process.hrtime.bigint() - t0) / 1e9;
  latencies.sort();
  return {
    perSecond: calls / seconds,
    p50: latencies[Math.floor(calls * 0.5)]!,
    p99: latencies[Math.floor(calls * 0.99)]!,
  };
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

async function throughput(title: string, cases: { name: string; fn: Call }[]): Promise<void> {
  const runs = cases.map(() => [] as { perSecond: number; p50: number; p99: number }[]);
  for (const c of cases) await load_(c.fn, 1_000, CONCURRENCY); // warm-up
  // Interleaved rounds, so drift of the shared machine hits every case alike.
  for (let r = 0; r < ROUNDS; r++) {
    for (let i = 0; i < cases.length; i++) runs[i]!.push(await load_(cases[i]!.fn, CALLS, CONCURRENCY));
  }
  console.log(`\n${title}`);
  const base = median(runs[0]!.map((x) => x.perSecond));
  const w = Math.max(...cases.map((c) => c.name.length));
  for (let i = 0; i < cases.length; i++) {
    const rps = median(runs[i]!.map((x) => x.perSecond));
    const p50 = median(runs[i]!.map((x) => x.p50));
    const p99 = median(runs[i]!.map((x) => x.p99));
    console.log(
      `  ${cases[i]!.name.padEnd(w)}  ${Math.round(rps).toString().padStart(7)} calls/s  p50 ${fmtNs(p50).padStart(9)}  p99 ${fmtNs(p99).padStart(9)}  ${(rps / base).toFixed(2)}x`,
    );
  }
}

export async function run(): Promise<void> {
  const Echo = load();
  const request: Msg = { message: 'hello, kitts', number: 42, tags: ['a', 'b'] };

  const raw = new grpc.Server();
  raw.addService(Echo.service, {
    Echo: (call: grpc.ServerUnaryCall<Msg, Msg>, cb: grpc.sendUnaryData<Msg>) => cb(null, call.request),
  });
  const echo: Endpoint<Msg, Msg> = async (_ctx, req) => req;
  const same = (_ctx: Context, m: Msg) => m;
  const kitts = new grpc.Server();
  kitts.addService(Echo.service, { Echo: createUnaryHandler(echo, same, same) });
  const [rawAddress, kittsAddress] = [await listen(raw), await listen(kitts)];

  const rawClient = new Echo(rawAddress, grpc.credentials.createInsecure()) as unknown as grpc.Client & {
    Echo(req: Msg, opts: grpc.CallOptions, cb: (e: grpc.ServiceError | null, r?: Msg) => void): void;
  };
  const kittsClient = new Echo(kittsAddress, grpc.credentials.createInsecure());
  const kittsEcho = createUnaryClient(kittsClient, 'Echo', same, same);

  const rawCall = (options: grpc.CallOptions) => () =>
    new Promise<Msg | undefined>((resolve, reject) =>
      rawClient.Echo(request, options, (e, r) => (e ? reject(e) : resolve(r))),
    );
  const plain = rawCall({});
  const ctx = background();

  await throughput(`unary echo, ${CONCURRENCY} calls in flight, no deadline (target >= 0.9x)`, [
    { name: 'raw grpc-js client -> raw grpc-js server', fn: plain },
    { name: 'kitts client -> kitts server', fn: () => kittsEcho(ctx, request) },
  ]);

  await throughput(`unary echo, ${CONCURRENCY} calls in flight, 5 s deadline per call (target >= 0.9x)`, [
    { name: 'raw grpc-js, deadline option', fn: () => rawCall({ deadline: Date.now() + 5000 })() },
    {
      name: 'kitts, withTimeout(ctx, 5000) per call',
      fn: async () => {
        const [c, cancel] = withTimeout(ctx, 5000);
        try {
          return await kittsEcho(c, request);
        } finally {
          cancel();
        }
      },
    },
  ]);

  await group(
    'unary echo, one call at a time: latency per call (target <= 1.1x)',
    [
      { name: 'raw grpc-js client -> raw grpc-js server', fn: plain },
      { name: 'kitts client -> kitts server', fn: () => kittsEcho(ctx, request) },
    ],
    { batch: 1_000, rounds: 5, warmup: 1 },
  );

  rawClient.close();
  kittsClient.close();
  raw.forceShutdown();
  kitts.forceShutdown();
}
