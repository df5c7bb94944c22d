// bench/transport-grpc: unary calls over loopback, kitts client -> kitts server against
// raw grpc-js client -> raw grpc-js server: same proto (proto-loader), same payload, same
// concurrency, in one process and one run. Clients and servers share the machine's cores.
import { EventEmitter } from 'node:events';
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
// Many short interleaved rounds: on a shared machine, load drifts within seconds, and a
// median of short rounds resists that better than a few long ones.
const CALLS = 1_000;
const ROUNDS = 9;

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

/** `calls` calls from `concurrency` workers: calls per second and each call's latency. */
async function measure(call: Call, calls: number, concurrency: number) {
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
  return { perSecond: calls / (Number(process.hrtime.bigint() - t0) / 1e9), latencies };
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

async function throughput(title: string, cases: { name: string; fn: Call }[]): Promise<void> {
  const rates = cases.map(() => [] as number[]);
  const latencies = cases.map(() => [] as Float64Array[]);
  for (const c of cases) await measure(c.fn, 1_000, CONCURRENCY); // warm-up
  for (let r = 0; r < ROUNDS; r++) {
    for (let i = 0; i < cases.length; i++) {
      const m = await measure(cases[i]!.fn, CALLS, CONCURRENCY);
      rates[i]!.push(m.perSecond);
      latencies[i]!.push(m.latencies);
    }
  }
  console.log(`\n${title}`);
  const base = median(rates[0]!);
  const w = Math.max(...cases.map((c) => c.name.length));
  for (let i = 0; i < cases.length; i++) {
    const rps = median(rates[i]!);
    // Percentiles over every call of every round.
    const all = Float64Array.from(latencies[i]!.flatMap((l) => Array.from(l))).sort();
    const p50 = all[Math.floor(all.length * 0.5)]!;
    const p99 = all[Math.floor(all.length * 0.99)]!;
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
  const rawToKittsClient = new Echo(
    kittsAddress,
    grpc.credentials.createInsecure(),
  ) as unknown as typeof rawClient;
  const rawToKitts = () =>
    new Promise((resolve, reject) =>
      rawToKittsClient.Echo(request, {}, (e, r) => (e ? reject(e) : resolve(r))),
    );
  const kittsToRawClient = new Echo(rawAddress, grpc.credentials.createInsecure());
  const kittsToRaw = createUnaryClient(kittsToRawClient, 'Echo', same, same);
  const ctx = background();

  await throughput(`unary echo, ${CONCURRENCY} calls in flight, no deadline (target >= 0.9x)`, [
    { name: 'raw grpc-js client -> raw grpc-js server', fn: plain },
    { name: 'kitts client -> kitts server', fn: () => kittsEcho(ctx, request) },
    // Each side alone, to tell which one costs what.
    { name: 'raw grpc-js client -> kitts server', fn: rawToKitts },
    { name: 'kitts client -> raw grpc-js server', fn: () => kittsToRaw(ctx, request) },
    // The baseline again: how far two identical cases drift apart on this machine.
    { name: 'control: raw -> raw again', fn: plain },
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
    { name: 'control: raw, deadline option, again', fn: () => rawCall({ deadline: Date.now() + 5000 })() },
  ]);

  await group(
    'unary echo, one call at a time: latency per call (target <= 1.1x)',
    [
      { name: 'raw grpc-js client -> raw grpc-js server', fn: plain },
      { name: 'kitts client -> kitts server', fn: () => kittsEcho(ctx, request) },
      { name: 'control: raw -> raw again', fn: plain },
    ],
    { batch: 300, rounds: 9, warmup: 1 },
  );

  for (const c of [rawClient, kittsClient, rawToKittsClient, kittsToRawClient]) c.close();
  raw.forceShutdown();
  kitts.forceShutdown();
  await overhead();
}

/**
 * What kitts adds per call, with the network stubbed out: a stand-in grpc-js client
 * that answers in a microtask (arming a deadline timer as grpc-js does), and a stand-in
 * server call object. Loopback figures above drift with the machine's load by more than
 * this; these say exactly how many nanoseconds the transport itself costs.
 */
async function overhead(): Promise<void> {
  const same = (_ctx: Context, m: unknown) => m;
  const stub = {
    makeUnaryRequest(
      _path: string,
      _ser: unknown,
      _de: unknown,
      arg: unknown,
      _md: grpc.Metadata,
      opts: grpc.CallOptions,
      cb: (e: null, v: unknown) => void,
    ) {
      const d = opts.deadline;
      const t = d === undefined ? undefined : setTimeout(() => {}, Number(d) - Date.now());
      queueMicrotask(() => {
        clearTimeout(t);
        cb(null, arg);
      });
      return new EventEmitter();
    },
  };
  const method = { path: '/x', requestSerialize: same, responseDeserialize: same } as never;
  const client = createUnaryClient(stub as unknown as grpc.Client, method, same, same);
  const ctx = background();
  const rawWith = (opts: grpc.CallOptions) =>
    new Promise((resolve) =>
      stub.makeUnaryRequest('/x', same, same, 1, new grpc.Metadata(), opts, (_e, v) => resolve(v)),
    );
  await group('client side, network stubbed, 5 s deadline per call (absolute ns added matter)', [
    {
      name: 'grpc-js-shaped call with a deadline option',
      fn: () => rawWith({ deadline: Date.now() + 5000 }),
    },
    {
      name: 'createUnaryClient, withTimeout(ctx, 5000) + cancel',
      fn: async () => {
        const [c, cancel] = withTimeout(ctx, 5000);
        try {
          return await client(c, 1);
        } finally {
          cancel();
        }
      },
    },
  ]);

  class StubCall extends EventEmitter {
    request = { message: 'x' };
    metadata = new grpc.Metadata();
    cancelled = false;
    constructor(private readonly deadline: number) {
      super();
    }
    getDeadline() {
      return this.deadline;
    }
    sendMetadata() {}
  }
  const handler = createUnaryHandler(async (_c: Context, r: unknown) => r, same, same);
  const rawHandler = (call: StubCall, cb: (e: null, v: unknown) => void) => cb(null, call.request);
  await group('server side, network stubbed, call with a deadline (absolute ns added matter)', [
    {
      name: 'raw handler',
      fn: () => new Promise((resolve) => rawHandler(new StubCall(Date.now() + 5000), resolve)),
    },
    {
      name: 'createUnaryHandler(endpoint, decode, encode)',
      fn: () => new Promise((resolve) => handler(new StubCall(Date.now() + 5000) as never, resolve as never)),
    },
  ]);
}
