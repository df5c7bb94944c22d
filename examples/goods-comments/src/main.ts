// goods-comments: a goods service whose product page calls a comments service (three
// instances) over HTTP, with consistent hashing on the goods id, retry and a breaker per
// instance. Runs in one process on the embedded registry; `--registry etcd://host:port/prefix`
// uses a real etcd instead.
//
//   npm start                      (from the repository root)
//   node --import tsx --conditions=source examples/goods-comments/src/main.ts --registry etcd://127.0.0.1:2379/services
import { background } from '@kitts/endpoint';
import { type Instancer, MemoryRegistry, type Registrar } from '@kitts/sd';
import { etcdRegistrar } from '@kitts/sd-etcd';
import { type CommentsInstance, startCommentsInstance } from './comments.js';
import { type BreakerEvent, commentsClient } from './goods.js';
import { bars, pct, table } from './report.js';

export interface Report {
  /** Goods id -> the comments instance that served it first. */
  placement: Map<string, string>;
  /** Second round: every id on the same instance, from its warm cache. */
  sameInstance: number;
  cacheHits: number;
  /** After one of three instances left. */
  moved: { ids: string[]; share: number; ideal: number; allFromLeaver: boolean };
  /** After one instance turned sick. */
  sick: { failedCalls: number; attemptsAfterOpen: number; breakerEvents: BreakerEvent[] };
}

export interface Options {
  /** A registry URL (etcd://host:port/prefix); the embedded MemoryRegistry when absent. */
  registry?: string;
  ids?: number;
  out?: (line: string) => void;
}

export async function main(options: Options = {}): Promise<Report> {
  const { ids: idCount = 60, out = console.log } = options;
  const { registrar, discovery, close: closeRegistry } = setUpRegistry(options.registry);
  const breakerEvents: BreakerEvent[] = [];
  const instances: CommentsInstance[] = [];
  for (const name of ['comments-1', 'comments-2', 'comments-3']) {
    instances.push(await startCommentsInstance(name, ({ address }) => registrar(name, address)));
  }
  const comments = commentsClient(discovery, (e) => breakerEvents.push(e));
  const ctx = background();
  try {
    await comments.endpointer.when((set) => set.entries.length === 3, 5000, 'three comments instances');
    const ids = Array.from({ length: idCount }, (_, i) => `good-${i + 1}`);
    const fetchAll = async () => {
      const got = new Map<string, { instance: string; cached: boolean }>();
      for (const id of ids) {
        const r = await comments.getComments(ctx, { id });
        got.set(id, { instance: r.instance, cached: r.cached });
      }
      return got;
    };

    out(
      `\nkitts · goods-comments — ${ids.length} product pages, 3 comments instances, ring hash on the goods id`,
    );
    out(
      `registry: ${options.registry ?? 'embedded MemoryRegistry'}; instances: ${instances.map((i) => `${i.name}@${i.address}`).join(', ')}\n`,
    );

    // 1. Where each id lands.
    const first = await fetchAll();
    const placement = new Map([...first].map(([id, r]) => [id, r.instance]));
    out('Which instance served each id (first 12):');
    out(
      table(
        ['goods id', 'comments instance', 'cache'],
        [...first].slice(0, 12).map(([id, r]) => [id, r.instance, r.cached ? 'hit' : 'miss']),
      ),
    );
    out('\nRequests per instance:');
    out(bars(countBy(placement.values())));

    // 2. The same ids again: the same instances, now from warm caches.
    const second = await fetchAll();
    const sameInstance = [...second].filter(([id, r]) => placement.get(id) === r.instance).length;
    const cacheHits = [...second].filter(([, r]) => r.cached).length;
    out(
      `\nSame ids again: ${sameInstance}/${ids.length} on the same instance, ${cacheHits}/${ids.length} cache hits.`,
    );

    // 3. One instance leaves: only the ids it served move.
    const leaver = instances[1]!;
    await leaver.close();
    await comments.endpointer.when((set) => set.entries.length === 2, 5000, `${leaver.name} to leave`);
    const third = await fetchAll();
    const movedIds = [...third].filter(([id, r]) => placement.get(id) !== r.instance).map(([id]) => id);
    const allFromLeaver = movedIds.every((id) => placement.get(id) === leaver.name);
    const share = movedIds.length / ids.length;
    out(
      `\n${leaver.name} left. Ids that moved: ${movedIds.length}/${ids.length} = ${pct(share)} (ideal 1/3 = ${pct(1 / 3)});`,
    );
    out(
      `every moved id was ${leaver.name}'s: ${allFromLeaver ? 'yes' : 'NO'}; the others kept their instance and its cache.`,
    );
    out(bars(countBy([...third.values()].map((r) => r.instance))));

    // 4. One instance turns sick: its breaker opens and traffic routes around it.
    const sickOne = instances[2]!;
    sickOne.failing = true;
    let failedCalls = 0;
    let attemptsAtOpen = Number.NaN;
    for (let round = 0; round < 2; round++) {
      for (const id of ids) {
        await comments.getComments(ctx, { id }).catch(() => failedCalls++);
        if (
          Number.isNaN(attemptsAtOpen) &&
          breakerEvents.some((e) => e.instance === sickOne.name && e.change.to.value === 'open')
        ) {
          attemptsAtOpen = sickOne.attempts;
        }
      }
    }
    const attemptsAfterOpen = Number.isNaN(attemptsAtOpen)
      ? sickOne.attempts
      : sickOne.attempts - attemptsAtOpen;
    out(`\n${sickOne.name} now answers 503 to everything. Two more rounds of ${ids.length} pages:`);
    for (const e of breakerEvents)
      out(`  breaker ${e.instance}: ${e.change.from.value} -> ${e.change.to.value} at +${e.at} ms`);
    out(
      `  failed page loads: ${failedCalls} (retry moved each failed attempt to the next instance on the ring)`,
    );
    out(`  requests reaching ${sickOne.name} after its breaker opened: ${attemptsAfterOpen}`);
    out('');

    return {
      placement,
      sameInstance,
      cacheHits,
      moved: { ids: movedIds, share, ideal: 1 / 3, allFromLeaver },
      sick: { failedCalls, attemptsAfterOpen, breakerEvents },
    };
  } finally {
    await comments.close();
    await Promise.all(instances.map((i) => i.close()));
    await closeRegistry();
  }
}

function setUpRegistry(url: string | undefined): {
  registrar: (id: string, address: string) => Registrar;
  discovery: Instancer | string;
  close: () => Promise<void>;
} {
  if (url === undefined) {
    const registry = new MemoryRegistry();
    return {
      registrar: (id, address) => registry.registrar('comments', { id, address }, { ttl: 3000 }),
      discovery: registry.instancer('comments'),
      close: async () => registry.close(),
    };
  }
  const m = /^etcd:\/\/([^/]+)(\/.*)?$/.exec(url);
  if (m === null) throw new Error(`--registry: this example supports etcd://host:port/prefix, got ${url}`);
  const prefix = (m[2] ?? '/services').replace(/\/+$/, '');
  return {
    registrar: (id, address) =>
      etcdRegistrar(
        { hosts: m[1]!.split(',').map((h) => `http://${h}`) },
        { prefix: `${prefix}/comments`, instance: { id, address }, ttl: 5 },
      ),
    discovery: url,
    close: async () => {},
  };
}

function countBy(values: Iterable<string>): Map<string, number> {
  const m = new Map<string, number>();
  for (const v of [...values].sort()) m.set(v, (m.get(v) ?? 0) + 1);
  return m;
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const i = process.argv.indexOf('--registry');
  const registry = i > 0 ? process.argv[i + 1] : undefined;
  await main(registry === undefined ? {} : { registry });
}
