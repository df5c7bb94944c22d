// bench/lb: pick cost of every @kitts/lb balancer at 3 to 3,000 instances, side by side
// with Moleculer 0.14's strategies where one matches; rebuild costs of the derived
// structures; and the discrete-event simulation (lb.sim.ts) whose chart goes to docs/.
import { writeFileSync } from 'node:fs';
import { background, type Endpoint } from '@kitts/endpoint';
import {
  type Balancer,
  jumpHash,
  leastRequest,
  maglev,
  peakEwma,
  random,
  ringHash,
  roundRobin,
  weightedRandom,
  weightedRoundRobin,
} from '@kitts/lb';
import type { EndpointSet, Entry } from '@kitts/sd';
import * as moleculer from 'moleculer';
import { type Case, group, markdown } from './harness.js';
import { simSvg, simTable, simulateAll } from './lb.sim.js';

type Req = string;
const ctx = background();
const endpoint: Endpoint<Req, string> = async () => 'ok';

// 4,096 distinct 16-character keys: more than Moleculer's Shard LRU (1,000), as real traffic.
const KEYS = Array.from({ length: 4096 }, (_, i) => `user:${String(i * 7919).padStart(11, '0')}`);

function entriesOf(n: number, weighted = false): Entry<Req, string>[] {
  return Array.from({ length: n }, (_, i) => ({
    instance: {
      id: `node-${String(i).padStart(5, '0')}`,
      address: `10.${(i >> 16) & 255}.${(i >> 8) & 255}.${i & 255}:8080`,
      ...(weighted ? { weight: 1 + (i % 3) } : {}),
    },
    endpoint,
  }));
}

/** A fixed set; `bump()` makes the next pick see a new version (a forced rebuild). */
class FixedSet {
  private set: EndpointSet<Req, string>;
  constructor(entries: Entry<Req, string>[]) {
    this.set = { version: 1, entries };
  }
  current() {
    return this.set;
  }
  bump() {
    this.set = { version: this.set.version + 1, entries: this.set.entries };
  }
}

// Moleculer's strategies, built directly with the minimal registry/broker they touch.
const { Strategies } = ((moleculer as unknown as { default?: typeof moleculer }).default ??
  moleculer) as unknown as {
  Strategies: Record<
    string,
    new (
      registry: unknown,
      broker: unknown,
      opts?: unknown,
    ) => { select(list: unknown[], ctx?: unknown): unknown }
  >;
};
const fakeBroker = { localBus: { on() {} } };

export async function run(): Promise<void> {
  const key = (_ctx: unknown, k: Req) => k;
  for (const n of [3, 30, 300, 3000]) {
    const entries = entriesOf(n);
    const source = new FixedSet(entries);
    const weightedSource = new FixedSet(entriesOf(n, true));
    const list = entries.map((e) => ({ id: e.instance.id }));
    const mrr = new Strategies.RoundRobin!({}, fakeBroker);
    const mrand = new Strategies.Random!({}, fakeBroker);
    const mshard = new Strategies.Shard!({}, fakeBroker, { shardKey: 'key' });
    const shardCtx = KEYS.map((k) => ({ params: { key: k } }));
    // One arrow per case: a shared helper would make every call site megamorphic.
    const rr = roundRobin(source);
    const rnd = random(source);
    const lr = leastRequest(source);
    const pe = peakEwma(source);
    const wrr = weightedRoundRobin(weightedSource);
    const wr = weightedRandom(weightedSource);
    const ring = ringHash(source, { key });
    const mg = maglev(source, { key });
    const jh = jumpHash(source, { key });
    const ket = ringHash(source, { key, preset: 'ketama' });
    let r = 0;
    let k1 = 0;
    let k2 = 0;
    let k3 = 0;
    let k4 = 0;
    let k5 = 0;
    const cases: Case[] = [
      { name: 'baseline: entries[i++ % n]', fn: () => entries[r++ % n] },
      { name: 'kitts roundRobin', fn: () => rr.pick(ctx, '') },
      { name: 'moleculer RoundRobin', fn: () => mrr.select(list) },
      { name: 'kitts random', fn: () => rnd.pick(ctx, '') },
      { name: 'moleculer Random', fn: () => mrand.select(list) },
      { name: 'kitts leastRequest', fn: () => lr.pick(ctx, '') },
      { name: 'kitts peakEwma', fn: () => pe.pick(ctx, '') },
      { name: 'kitts weightedRoundRobin (weights 1-3)', fn: () => wrr.pick(ctx, '') },
      { name: 'kitts weightedRandom (weights 1-3)', fn: () => wr.pick(ctx, '') },
      { name: 'kitts ringHash, 16-char key (xxHash64)', fn: () => ring.pick(ctx, KEYS[k1++ & 4095]!) },
      { name: 'kitts maglev, 16-char key (xxHash64)', fn: () => mg.pick(ctx, KEYS[k2++ & 4095]!) },
      { name: 'kitts jumpHash, 16-char key (xxHash64)', fn: () => jh.pick(ctx, KEYS[k3++ & 4095]!) },
      {
        name: "kitts ringHash preset 'ketama', 16-char key (MD5)",
        fn: () => ket.pick(ctx, KEYS[k4++ & 4095]!),
      },
      { name: 'moleculer Shard, 16-char key (MD5)', fn: () => mshard.select(list, shardCtx[k5++ & 4095]) },
    ];
    const batch = n >= 3000 ? 2000 : n >= 300 ? 5000 : 20_000;
    const results = await group(`pick, ${n} instances`, cases, { batch, rounds: n >= 3000 ? 5 : 7 });
    console.log(`\n${markdown(results)}`);
  }

  const rebuild = (b: Balancer<Req, string>, src: FixedSet) => () => {
    src.bump();
    b.pick(ctx, 'k');
  };
  const s1000 = new FixedSet(entriesOf(1000));
  const s100 = new FixedSet(entriesOf(100));
  const s3000w = new FixedSet(entriesOf(3000, true));
  const s300w = new FixedSet(entriesOf(300, true));
  const rebuilds = await group(
    'rebuild on a set change (once per EndpointSet.version)',
    [
      {
        name: 'ringHash, 1,000 instances x 160 points (xxHash64)',
        fn: rebuild(ringHash(s1000, { key }), s1000),
      },
      {
        name: "ringHash 'ketama', 1,000 servers x 160 points (MD5)",
        fn: rebuild(ringHash(s1000, { key, preset: 'ketama' }), s1000),
      },
      { name: 'maglev, table 65537, 100 instances', fn: rebuild(maglev(s100, { key }), s100) },
      { name: 'maglev, table 65537, 1,000 instances', fn: rebuild(maglev(s1000, { key }), s1000) },
      { name: 'weightedRandom alias table, 3,000 instances', fn: rebuild(weightedRandom(s3000w), s3000w) },
      {
        name: 'weightedRoundRobin schedule, 300 instances (weights 1-3)',
        fn: rebuild(weightedRoundRobin(s300w), s300w),
      },
    ],
    { batch: 3, rounds: 5, warmup: 1 },
  );
  console.log(`\n${markdown(rebuilds)}`);

  const sim = await simulateAll();
  console.log('\nsimulation: 10 instances, one 10x slower, 80% load (virtual time)\n');
  console.log(simTable(sim));
  const svg = new URL('../../docs/lb-simulation.svg', import.meta.url);
  writeFileSync(svg, simSvg(sim));
  console.log(`\nchart written to ${svg.pathname}`);
}
