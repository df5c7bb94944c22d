/**
 * Bad input: thousands of generated malformed HTTP requests and gRPC calls against kitts
 * servers in their own processes. No answer may be a 5xx (nor a gRPC status that says
 * the server failed), the servers must not crash, must still serve a valid call between
 * batches, and must be back to their baseline memory and handles at the end.
 */
import {
  frame,
  GRPC_CATEGORIES,
  GRPC_HEADERS,
  type GrpcCase,
  getRequest,
  grpcCase,
} from '../bad-input/grpc-cases.js';
import { HTTP_CATEGORIES, httpCase } from '../bad-input/http-cases.js';
import { Http2Target } from '../bad-input/raw-grpc.js';
import { sendRaw } from '../bad-input/raw-http.js';
import { Fleet, type Instance } from '../fleet.js';
import type { InstanceStats } from '../protocol.js';
import { Reporter, type ScenarioReport } from '../report.js';
import { makeRng } from '../rng.js';

export interface BadInputOptions {
  httpCount: number;
  grpcCount: number;
  seed?: number;
  /** Connections (HTTP) or streams (gRPC) at once. */
  concurrency?: number;
  /** Heap growth (bytes, after a full GC) above which memory is not "back to baseline". */
  heapTolerance?: number;
  log?: (line: string) => void;
}

const GRPC_SERVER_FAULTS = new Set(['UNKNOWN', 'INTERNAL', 'DATA_LOSS']);
const MiB = 1024 * 1024;

/** Runs `task(i)` for i in [0, n) with `concurrency` at a time. */
async function pool(n: number, concurrency: number, task: (i: number) => Promise<void>): Promise<void> {
  let next = 0;
  const worker = async () => {
    while (next < n) await task(next++);
  };
  await Promise.all(Array.from({ length: Math.min(concurrency, n) }, worker));
}

const validGet = Buffer.from(
  'GET /items/health HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n',
  'latin1',
);
const validCall: GrpcCase = {
  category: 'values',
  name: 'valid',
  headers: { ...GRPC_HEADERS },
  body: frame(getRequest('health', 1)),
  finish: 'end',
};

interface Tally {
  sent: number;
  s2xx: number;
  s4xx: number;
  s5xx: number;
  none: number;
}
const tally = (): Tally => ({ sent: 0, s2xx: 0, s4xx: 0, s5xx: 0, none: 0 });

/**
 * The server's stats after a full GC, once its handles are back to `before` (the last
 * connections close a moment after the client's) or 3 s have passed.
 */
async function settled(server: Instance, before: InstanceStats): Promise<InstanceStats> {
  const end = Date.now() + 3000;
  for (;;) {
    const now = await server.stats({ gc: true });
    if (delta(before, now).handles.length === 0 || Date.now() > end) return now;
    await new Promise((r) => setTimeout(r, 100));
  }
}

function delta(before: InstanceStats, after: InstanceStats) {
  const handles: string[] = [];
  for (const [k, n] of Object.entries(after.resources)) {
    const b = before.resources[k] ?? 0;
    if (n > b) handles.push(`${k} ${b} -> ${n}`);
  }
  return { heap: after.heapUsed - before.heapUsed, handles };
}

export async function badInput(o: BadInputOptions): Promise<ScenarioReport[]> {
  const { seed = 20_240_601, concurrency = 16, heapTolerance = 2 * MiB, log = () => {} } = o;
  const http = new Fleet({ transport: 'http' });
  const grpc = new Fleet({ transport: 'grpc' });
  try {
    const [[hs], [gs]] = await Promise.all([http.start(1), grpc.start(1)]);
    return [
      await httpRun(hs!, o.httpCount, seed, concurrency, heapTolerance, log),
      await grpcRun(gs!, o.grpcCount, seed, concurrency, heapTolerance, log),
    ];
  } finally {
    await Promise.all([http.stopAll(), grpc.stopAll()]);
  }
}

async function httpRun(
  server: Instance,
  count: number,
  seed: number,
  concurrency: number,
  heapTolerance: number,
  log: (line: string) => void,
): Promise<ScenarioReport> {
  const rep = new Reporter('bad-input-http', 'Bad input over HTTP');
  const port = server.port!;
  // Warm up with valid calls and a round of every category, so what a first call
  // initialises once is in the baseline.
  await pool(200, concurrency, async () => void (await sendRaw(port, validGet, 'wait')));
  const warm = makeRng(seed + 1);
  await pool(HTTP_CATEGORIES.length * 20, concurrency, async (i) => {
    const c = httpCase(warm, i);
    await sendRaw(port, c.bytes, c.finish);
  });
  const before = await server.stats({ gc: true });

  const rng = makeRng(seed);
  const byCategory = new Map(HTTP_CATEGORIES.map((c) => [c, tally()]));
  const fives: string[] = [];
  let healthFailed = 0;
  let healthChecks = 0;
  const t0 = Date.now();
  await pool(count, concurrency, async (i) => {
    const c = httpCase(rng, i);
    const out = await sendRaw(port, c.bytes, c.finish);
    const t = byCategory.get(c.category)!;
    t.sent++;
    if (out.statuses.length === 0) t.none++;
    for (const s of out.statuses) {
      if (s >= 500) {
        t.s5xx++;
        if (fives.length < 10) fives.push(`${c.category}/${c.name} -> ${s}`);
      } else if (s >= 400) t.s4xx++;
      else t.s2xx++;
    }
    if (i % 250 === 249) {
      healthChecks++;
      const h = await sendRaw(port, validGet, 'wait');
      if (h.statuses[0] !== 200) healthFailed++;
    }
  });
  const took = Date.now() - t0;
  log(`bad input/http: ${count} cases in ${took} ms`);
  const alive = !server.hasExited();
  const after = alive ? await settled(server, before) : before;
  const d = delta(before, after);
  const serverFives = Object.entries(after.answers)
    .filter(([s]) => Number(s) >= 500)
    .reduce((n, [, v]) => n + v, 0);
  const total = [...byCategory.values()].reduce((a, t) => a + t.s5xx, 0);

  rep.info('malformed requests sent (raw sockets)', count);
  rep.zero('answers with a 5xx status', total);
  rep.zero('5xx written by the kitts handlers (server side)', serverFives);
  rep.zero('server crashes', alive ? 0 : 1);
  rep.zero(`valid requests failed between batches (of ${healthChecks})`, healthFailed);
  rep.below('heap after a full GC, above the baseline', d.heap / MiB, heapTolerance / MiB, 'MiB');
  rep.zero('handles above the baseline', d.handles.length);
  rep.info('heap before / after (full GC)', `${mib(before.heapUsed)} / ${mib(after.heapUsed)}`);
  rep.table = [
    ['category', 'sent', '2xx', '4xx', '5xx', 'no answer (closed or reset)'],
    ...[...byCategory].map(([c, t]) => [c, ...[t.sent, t.s2xx, t.s4xx, t.s5xx, t.none].map(String)]),
  ];
  if (fives.length > 0) rep.note(`First 5xx: ${fives.join('; ')}.`);
  if (d.handles.length > 0) rep.note(`Handles: ${d.handles.join(', ')}.`);
  rep.note(
    `Seed ${seed}, ${concurrency} connections at once, ${took.toLocaleString('en-US')} ms. The server is a ` +
      'kitts router (POST /items with a zod-checked JSON body limited to 64 KiB, GET /items/:key, GET ' +
      '/search?q=) on node:http with its default limits. "No answer" is a truncated request the client ' +
      'abandoned, or one Node drops without a word. A pipelined request counts each of its answers.',
  );
  return rep.report();
}

async function grpcRun(
  server: Instance,
  count: number,
  seed: number,
  concurrency: number,
  heapTolerance: number,
  log: (line: string) => void,
): Promise<ScenarioReport> {
  const rep = new Reporter('bad-input-grpc', 'Bad input over gRPC');
  const target = new Http2Target(server.port!);
  // Calls cancelled half way go on their own connection: a burst of client resets draws a
  // GOAWAY from Node's HTTP/2 server (its rapid-reset defence), which would also end the
  // other calls in flight on a shared connection. Health checks get a clean one too.
  const resets = new Http2Target(server.port!);
  const health = new Http2Target(server.port!);
  try {
    await pool(200, concurrency, async () => void (await target.send(validCall)));
    const warm = makeRng(seed + 1);
    await pool(GRPC_CATEGORIES.length * 10, concurrency, async (i) => {
      const c = grpcCase(warm, i);
      await (c.finish === 'reset' ? resets : target).send(c);
    });
    const before = await server.stats({ gc: true });

    const rng = makeRng(seed);
    const byCategory = new Map(
      GRPC_CATEGORIES.map((c) => [c, { sent: 0, codes: new Map<string, number>() }]),
    );
    let http5xx = 0;
    let healthFailed = 0;
    let healthChecks = 0;
    const t0 = Date.now();
    await pool(count, concurrency, async (i) => {
      const c = grpcCase(rng, i);
      const out = await (c.finish === 'reset' ? resets : target).send(c);
      const t = byCategory.get(c.category)!;
      t.sent++;
      const key =
        out.grpcStatus !== undefined
          ? codeName(out.grpcStatus)
          : out.httpStatus !== undefined
            ? `HTTP ${out.httpStatus}`
            : out.end;
      t.codes.set(key, (t.codes.get(key) ?? 0) + 1);
      if ((out.httpStatus ?? 0) >= 500) http5xx++;
      if (i % 100 === 99) {
        healthChecks++;
        const h = await health.send(validCall);
        if (h.grpcStatus !== 0) healthFailed++;
      }
    });
    const took = Date.now() - t0;
    log(`bad input/grpc: ${count} cases in ${took} ms`);
    const alive = !server.hasExited();
    await Promise.all([target.close(), resets.close(), health.close()]);
    const after = alive ? await settled(server, before) : before;
    const d = delta(before, after);
    const kittsFaults = Object.entries(after.answers)
      .filter(([code]) => GRPC_SERVER_FAULTS.has(code))
      .reduce((n, [, v]) => n + v, 0);

    rep.info('malformed calls sent (HTTP/2 frames built by hand)', count);
    rep.zero('answers with an HTTP 5xx status', http5xx);
    rep.zero('UNKNOWN / INTERNAL / DATA_LOSS from the kitts handler (server side)', kittsFaults);
    rep.zero('server crashes', alive ? 0 : 1);
    rep.zero(`valid calls failed between batches (of ${healthChecks})`, healthFailed);
    rep.below('heap after a full GC, above the baseline', d.heap / MiB, heapTolerance / MiB, 'MiB');
    rep.zero('handles above the baseline', d.handles.length);
    rep.info('heap before / after (full GC)', `${mib(before.heapUsed)} / ${mib(after.heapUsed)}`);
    rep.info('connections the server ended with GOAWAY', target.goaways + resets.goaways);
    rep.table = [
      ['category', 'sent', 'answers'],
      ...[...byCategory].map(([c, t]) => [
        c,
        String(t.sent),
        [...t.codes]
          .sort((a, b) => b[1] - a[1])
          .map(([k, v]) => `${k} ${v}`)
          .join(', '),
      ]),
    ];
    if (d.handles.length > 0) rep.note(`Handles: ${d.handles.join(', ')}.`);
    rep.note(
      `Seed ${seed}, ${concurrency} streams at once, ${took.toLocaleString('en-US')} ms. The server is ` +
        'grpc-js with a kitts unary handler (zod schema on the decoded message), at most 10 calls per ' +
        'connection. INTERNAL and UNIMPLEMENTED in the table come from grpc-js itself, before kitts sees the ' +
        'call: INTERNAL for bytes it cannot parse as the request message (the gRPC spec\'s code for "error ' +
        'parsing request proto") or a malformed grpc-timeout, UNIMPLEMENTED for an unknown path or a unary ' +
        'call with no or two messages. The server-side count above shows that the kitts handler itself ' +
        'answered none of them; what reached it and was wrong got INVALID_ARGUMENT naming the field.',
    );
    return rep.report();
  } finally {
    await Promise.all([target.close(), resets.close(), health.close()]);
  }
}

const mib = (b: number) => `${(b / MiB).toFixed(1)} MiB`;

const CODE_NAMES = [
  'OK',
  'CANCELLED',
  'UNKNOWN',
  'INVALID_ARGUMENT',
  'DEADLINE_EXCEEDED',
  'NOT_FOUND',
  'ALREADY_EXISTS',
  'PERMISSION_DENIED',
  'RESOURCE_EXHAUSTED',
  'FAILED_PRECONDITION',
  'ABORTED',
  'OUT_OF_RANGE',
  'UNIMPLEMENTED',
  'INTERNAL',
  'UNAVAILABLE',
  'DATA_LOSS',
  'UNAUTHENTICATED',
];
const codeName = (c: number) => CODE_NAMES[c] ?? `CODE_${c}`;
