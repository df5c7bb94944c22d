// mall-weighted: a mall calling a product service of three instances whose weights
// (5, 3, 2) travel as instance metadata. Smooth weighted round robin spreads calls by
// those weights; health checks take an instance in maintenance out; retries move a
// failed call to another instance; a token bucket guards the mall's front door; and
// GET /metrics shows it all, per instance, for Prometheus.
//
// Run (in examples/mall-weighted):  npm start
//                                   npm start -- --registry etcd://127.0.0.1:2379/services
import { request } from 'node:http';
import { pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';
import { type Served, serve } from '@kitts/client';
import { background } from '@kitts/endpoint';
import type { Endpointer } from '@kitts/sd';
import { startMall } from './mall.js';
import { productInstance } from './products.js';
import { openRegistry } from './registry.js';

export interface MallWeightedOptions {
  /** memory:// (default), etcd://, consul:// or zk://. */
  registry?: string;
  out?: (line: string) => void;
}

export interface MallWeightedResult {
  readonly weights: Readonly<Record<string, number>>;
  /** 100 calls, all instances healthy: calls per instance, and the first 10 picks. */
  readonly weighted: { readonly counts: Readonly<Record<string, number>>; readonly first: readonly string[] };
  /** 20 calls while product-b answers 503. */
  readonly retries: {
    readonly answered: number;
    readonly failedOnB: number;
    readonly servedBy: readonly string[];
  };
  /** 16 calls while product-c's /health answers 503. */
  readonly maintenance: {
    readonly rotation: readonly string[];
    readonly counts: Readonly<Record<string, number>>;
    readonly rejoined: boolean;
  };
  /** 30 requests at once at the front door. */
  readonly rateLimit: {
    readonly ok: number;
    readonly limited: number;
    readonly retryAfter: string | undefined;
  };
  /** The series of GET /metrics the example prints. */
  readonly metrics: readonly string[];
  /** Calls each product instance answered with a product, by its own count. */
  readonly answered: Readonly<Record<string, number>>;
}

const WEIGHTS: Readonly<Record<string, number>> = { 'product-a': 5, 'product-b': 3, 'product-c': 2 };
const NAMES = Object.keys(WEIGHTS);
const LIMIT = { rate: 5, burst: 10 };

export async function main(options: MallWeightedOptions = {}): Promise<MallWeightedResult> {
  const out = options.out ?? console.log;
  const registry = await openRegistry(options.registry);
  const products = NAMES.map(productInstance);
  const served: Served[] = [];
  let mall: Awaited<ReturnType<typeof startMall>> | undefined;
  try {
    for (const p of products) {
      served.push(
        await serve({
          server: p.server,
          // The weight goes in metadata, where every registry can carry it.
          registrar: ({ address }) =>
            registry.registrar('product', { id: p.name, address, meta: { weight: String(WEIGHTS[p.name]) } }),
          signals: false, // a demo that ends by itself; a real service keeps SIGTERM/SIGINT
          drainTimeout: 1000,
        }),
      );
    }
    out(`mall-weighted: 3 instances of "product" registered in ${registry.url}, weights in metadata`);
    out(`  health checks: ${registry.checker}`);
    for (let i = 0; i < products.length; i++) {
      out(`  ${NAMES[i]}  ${served[i]!.address.padEnd(16)}  meta.weight=${WEIGHTS[NAMES[i]!]}`);
    }
    const m = (mall = await startMall({
      discovery: registry.url,
      discoverOptions: registry.discoverOptions,
      limit: LIMIT,
    }));
    await untilRotation(m.endpointer, NAMES, 10_000);
    out('mall: smooth weighted round robin over passing instances; retry: 3 attempts within 2 s');

    const call = async (sku: string) => (await m.getProduct(background(), { sku })).served_by;
    const calls = async (n: number) => {
      const by: string[] = [];
      for (let i = 0; i < n; i++) by.push(await call(`sku-${(i % 3) + 1}`));
      return by;
    };

    out('\n1. 100 calls: the distribution follows the weights');
    const first = await calls(100);
    const counts = tally(first);
    out(
      `  first 10 picks: ${first.slice(0, 10).map(short).join(' ')}   (smooth: interleaved, not a a a a a b b b c c)`,
    );
    for (const name of NAMES) {
      const n = counts[name]!;
      out(
        `  ${name}  weight ${WEIGHTS[name]}  ${bar(n, 100)} ${String(n).padStart(3)} calls (want ${WEIGHTS[name]! * 10})`,
      );
    }

    const b = products[1]!;
    out(`\n2. ${b.name}'s product route answers 503 while its /health says OK: retry moves those calls`);
    b.failing = true;
    const failedBefore = b.failed;
    const second = await calls(20);
    b.failing = false;
    const failedOnB = b.failed - failedBefore;
    out(
      `  20 calls, 20 answered (${summary(tally(second))}); ${failedOnB} attempts failed on ${b.name}, each retried elsewhere`,
    );

    const c = products[2]!;
    out(`\n3. ${c.name} goes into maintenance: its /health answers 503`);
    c.healthy = false;
    const left = await untilRotation(m.endpointer, ['product-a', 'product-b'], 10_000);
    out(`  its check failed and ${c.name} left the rotation ${left} ms later`);
    const rotation = ids(m.endpointer);
    const third = tally(await calls(16));
    out(`  16 calls: ${summary(third)}   (5:3: the weights of the two that remain)`);
    c.healthy = true;
    const back = await untilRotation(m.endpointer, NAMES, 10_000);
    out(`  its check passes again: ${c.name} rejoined the rotation ${back} ms later`);

    out(
      `\n4. The mall's front door is rate limited: a token bucket of ${LIMIT.burst}, refilled ${LIMIT.rate} per second`,
    );
    const answers = await Promise.all(Array.from({ length: 30 }, () => get(`${m.url}/products/sku-1`)));
    const ok = answers.filter((a) => a.status === 200).length;
    const refused = answers.filter((a) => a.status === 429);
    const retryAfter = refused[0]?.headers['retry-after'] as string | undefined;
    out(
      `  30 requests at once to GET /products/sku-1: ${ok} answered 200, ${refused.length} refused 429 ` +
        `(retry-after: ${retryAfter ?? '-'} s)`,
    );

    out(`\n5. GET ${m.url}/metrics (Prometheus text, from prom-client through @kitts/metrics)`);
    const text = (await get(`${m.url}/metrics`)).body;
    const shown = text
      .split('\n')
      .filter((l) => /^kitts_(requests_total|ratelimit_rejections_total|sd_instances)\{/.test(l));
    for (const line of shown) out(`  ${line}`);

    return {
      weights: WEIGHTS,
      weighted: { counts, first: first.slice(0, 10) },
      retries: { answered: second.length, failedOnB, servedBy: second },
      maintenance: { rotation, counts: third, rejoined: ids(m.endpointer).length === 3 },
      rateLimit: { ok, limited: refused.length, retryAfter },
      metrics: shown,
      answered: Object.fromEntries(products.map((p) => [p.name, p.answered])),
    };
  } finally {
    await mall?.close();
    await Promise.all(served.map((s) => s.close()));
    await registry.close();
  }
}

const short = (name: string) => name.slice('product-'.length);
const bar = (n: number, of: number) => '#'.repeat(Math.round((n / of) * 50)).padEnd(50, '.');

function tally(names: readonly string[]): Record<string, number> {
  const counts: Record<string, number> = Object.fromEntries(NAMES.map((n) => [n, 0]));
  for (const n of names) counts[n] = (counts[n] ?? 0) + 1;
  return counts;
}

const summary = (counts: Record<string, number>) =>
  Object.entries(counts)
    .map(([n, k]) => `${n} ${k}`)
    .join(', ');

const ids = (endpointer: Endpointer<any, any>): string[] =>
  endpointer.current().entries.map((e) => e.instance.id);

/** Resolves with the ms it took until the mall's instances are exactly `want`. */
async function untilRotation(
  endpointer: Endpointer<any, any>,
  want: readonly string[],
  ms: number,
): Promise<number> {
  const t0 = Date.now();
  const key = [...want].sort().join(',');
  await endpointer.when(() => ids(endpointer).join(',') === key, ms, `mall-weighted: the rotation [${want}]`);
  return Date.now() - t0;
}

/** A GET on a fresh connection, closed after the answer (nothing kept alive). */
function get(url: string): Promise<{ status: number; headers: Record<string, unknown>; body: string }> {
  return new Promise((resolve, reject) => {
    const req = request(url, { agent: false, headers: { connection: 'close' } }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => {
        body += chunk;
      });
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body }));
    });
    req.on('error', reject);
    req.end();
  });
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const { values } = parseArgs({
    args: process.argv.slice(2).filter((a) => a !== '--'),
    options: { registry: { type: 'string' } },
  });
  try {
    await main(values.registry === undefined ? {} : { registry: values.registry });
  } catch (err) {
    console.error(`mall-weighted: ${(err as Error).message}`);
    process.exitCode = 1;
  }
}
