// bench/sd: applying one change to a set of 10,000 instances, memory per entry, current().
import type { Endpoint } from '@kitts/endpoint';
import { Endpointer, type Instance, InstanceBroadcaster } from '@kitts/sd';
import { fmtNs, group } from './harness.js';

const N = 10_000;

function instances(n: number, changed = -1): Instance[] {
  const out: Instance[] = [];
  for (let i = 0; i < n; i++) {
    const id = `instance-${String(i).padStart(5, '0')}`;
    out.push({
      id,
      address: `10.${(i >> 16) & 255}.${(i >> 8) & 255}.${i & 255}:${i === changed ? 9090 : 8080}`,
    });
  }
  return out;
}

function shuffle<T>(xs: T[]): T[] {
  for (let i = xs.length - 1; i > 0; i--) {
    const j = Math.floor(Math.random() * (i + 1));
    [xs[i], xs[j]] = [xs[j]!, xs[i]!];
  }
  return xs;
}

export async function run(): Promise<void> {
  const b = new InstanceBroadcaster();
  let made = 0;
  const endpoint: Endpoint = async () => undefined;
  const before = process.memoryUsage().heapUsed;
  b.update(instances(N));
  const e = new Endpointer({ subscribe: (l) => b.subscribe(l), close: async () => b.clear() }, () => {
    made++;
    return { endpoint, close: () => {} };
  });
  global.gc?.();
  const perEntry = (process.memoryUsage().heapUsed - before) / N;

  // Every event moves one instance to a new address (so the factory runs exactly once).
  // "Delta" events are what adapters that apply watch deltas send (etcd, ZooKeeper): the
  // same Instance objects for unchanged keys, in id order. "Fresh" events are the worst
  // case (a full re-list parsed into new objects, in registry order).
  const rounds = 50;
  const deltaTimes: number[] = [];
  const freshTimes: number[] = [];
  const base = instances(N);
  const moved = instances(N, 1234)[1234]!;
  let flip = false;
  for (let r = 0; r < rounds; r++) {
    const delta = base.slice();
    if ((flip = !flip)) delta[1234] = moved;
    const t0 = process.hrtime.bigint();
    b.update(delta);
    deltaTimes.push(Number(process.hrtime.bigint() - t0));
    const fresh = shuffle((flip = !flip) ? instances(N, 1234) : instances(N));
    const t1 = process.hrtime.bigint();
    b.update(fresh);
    freshTimes.push(Number(process.hrtime.bigint() - t1));
  }
  const med = (xs: number[]) => [...xs].sort((x, y) => x - y)[Math.floor(xs.length / 2)]!;
  console.log(`\nEndpointer over ${N} instances, one instance changes per event (target < 2 ms)`);
  console.log(`  a delta event (same objects, id order):     ${fmtNs(med(deltaTimes))} median`);
  console.log(`  a fresh re-list (new objects, any order):   ${fmtNs(med(freshTimes))} median`);
  console.log(
    `  factory calls for ${rounds * 2} events:              ${made - N} (one per event: only the moved instance)`,
  );
  console.log(
    `  heap per entry (instance + entry + slot):   ~${Math.round(perEntry)} bytes${global.gc ? '' : ' (run with --expose-gc for a steadier figure)'}`,
  );

  let sink = 0;
  await group('current() per call (10,000 entries)', [
    { name: 'read a field of a plain object', fn: () => (sink += b.current.instances.length) },
    { name: 'endpointer.current()', fn: () => (sink += e.current().entries.length) },
  ]);
  if (sink < 0) console.log(sink);
  await e.close();
}
