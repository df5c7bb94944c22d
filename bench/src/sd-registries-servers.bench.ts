// bench/sd-registries-servers: etcd and ZooKeeper adapters on real servers (started here,
// on loopback). How long a registry write takes to reach an Endpointer's onChange
// (median and p99 over 200 changes), against the same client library used by hand (the
// baseline: a raw watch for etcd; for ZooKeeper the watch plus the reads any client must
// do after it), and what an initial list of 5,000 instances and one change among them cost.
import type { Endpoint } from '@kitts/endpoint';
import { Endpointer, type Instancer } from '@kitts/sd';
import { etcdInstancer } from '@kitts/sd-etcd';
import { ZkClient, zkInstancer } from '@kitts/sd-zookeeper';
import { type EtcdServer, startEtcd, startZookeeper, type ZookeeperServer } from '@kitts/testkit';
import { Etcd3 } from 'etcd3';
import zookeeper from 'node-zookeeper-client';
import { markdown, print, type Result } from './harness.js';

const CHANGES = 200;
const BIG = 5000;
const nop: Endpoint = async () => undefined;

interface Stats {
  median: number;
  p99: number;
}

function stats(samples: number[]): Stats {
  const s = [...samples].sort((a, b) => a - b);
  return {
    median: s[Math.floor(s.length / 2)]!,
    p99: s[Math.min(s.length - 1, Math.ceil(s.length * 0.99) - 1)]!,
  };
}

const now = () => Number(process.hrtime.bigint());

/** Times `changes` writes, each until `seen` resolves; the first `warmup` are discarded. */
async function propagation(
  changes: number,
  write: (i: number) => Promise<unknown>,
  next: () => Promise<void>,
  warmup = 20,
): Promise<Stats> {
  const samples: number[] = [];
  for (let i = 0; i < changes + warmup; i++) {
    const seen = next();
    const t0 = now();
    await write(i);
    await seen;
    if (i >= warmup) samples.push(now() - t0);
  }
  return stats(samples);
}

/** A promise for the next Endpointer change. */
function changes(endpointer: Endpointer): () => Promise<void> {
  let resolve: (() => void) | undefined;
  endpointer.onChange(() => {
    const r = resolve;
    resolve = undefined;
    r?.();
  });
  return () => new Promise<void>((r) => (resolve = r));
}

function table(title: string, rows: [string, Stats][], high = 'p99'): Result[] {
  const base = rows[0]![1];
  const results = rows.flatMap(([name, s]) => [
    { name: `${name}, median`, nsPerOp: s.median, ratio: s.median / base.median },
    { name: `${name}, ${high}`, nsPerOp: s.p99, ratio: s.p99 / base.p99 },
  ]);
  print(title, results);
  console.log(markdown(results));
  return results;
}

async function until(instancer: Instancer, n: number): Promise<Endpointer> {
  const endpointer = new Endpointer(instancer, () => nop);
  if (endpointer.current().entries.length === n) return endpointer;
  await new Promise<void>((resolve) => {
    const off = endpointer.onChange((set) => {
      if (set.entries.length !== n) return;
      off();
      resolve();
    });
  });
  return endpointer;
}

async function etcdBench(etcd: EtcdServer): Promise<void> {
  const writer = new Etcd3({ hosts: etcd.endpoint });
  const reader = new Etcd3({ hosts: etcd.endpoint });
  const write = (prefix: string) => (i: number) =>
    i % 2 === 0
      ? writer
          .put(`${prefix}k`)
          .value(`10.0.0.${i % 250}:80`)
          .exec()
      : writer.delete().key(`${prefix}k`).exec();

  // Baseline: a raw etcd3 prefix watch.
  const watcher = await reader.watch().prefix('/raw/').create();
  let rawSeen: (() => void) | undefined;
  const onEvent = () => {
    const r = rawSeen;
    rawSeen = undefined;
    r?.();
  };
  watcher.on('put', onEvent).on('delete', onEvent);
  const raw = await propagation(CHANGES, write('/raw/'), () => new Promise<void>((r) => (rawSeen = r)));
  await watcher.cancel();

  const instancer = etcdInstancer(reader, { prefix: '/kitts/' });
  await instancer.ready;
  const endpointer = new Endpointer(instancer, () => nop);
  const ours = await propagation(CHANGES, write('/kitts/'), changes(endpointer));
  await endpointer.close();
  await instancer.close();
  table(`etcd: write -> change seen, ${CHANGES} changes (put/delete alternating)`, [
    ['raw etcd3 watch (baseline)', raw],
    ['etcdInstancer -> Endpointer', ours],
  ]);

  // 5,000 instances: the initial list, then one change among them.
  for (let i = 0; i < BIG; i += 500) {
    const batch = [];
    for (let j = i; j < Math.min(BIG, i + 500); j++) {
      batch.push(
        writer
          .put(`/big/i${String(j).padStart(5, '0')}`)
          .value(`10.1.${j >> 8}.${j & 255}:80`)
          .exec(),
      );
    }
    await Promise.all(batch);
  }
  const lists: number[] = [];
  const initial: number[] = [];
  for (let r = 0; r < 5; r++) {
    let t0 = now();
    await reader.getAll().prefix('/big/').exec();
    lists.push(now() - t0);
    t0 = now();
    const inst = etcdInstancer(reader, { prefix: '/big/' });
    const ep = await until(inst, BIG);
    initial.push(now() - t0);
    await ep.close();
    await inst.close();
  }
  const big = etcdInstancer(reader, { prefix: '/big/' });
  const bigEp = await until(big, BIG);
  const one = await propagation(
    50,
    // A key in the middle of the sorted set: the instances must be re-sorted, not appended.
    (i) =>
      i % 2 === 0
        ? writer.put('/big/i02500x').value('10.9.9.9:80').exec()
        : writer.delete().key('/big/i02500x').exec(),
    changes(bigEp),
    10,
  );
  await bigEp.close();
  await big.close();
  table(
    `etcd: initial list of ${BIG} instances (median of 5)`,
    [
      ['raw range read (baseline)', stats(lists)],
      ['etcdInstancer -> Endpointer ready', stats(initial)],
    ],
    'max',
  );
  table(`etcd: one change among ${BIG} instances (50 changes)`, [
    ['raw etcd3 watch, 1 instance (baseline)', raw],
    [`etcdInstancer -> Endpointer, ${BIG}`, one],
  ]);
  writer.close();
  reader.close();
}

/**
 * The least a client of node-zookeeper-client does to follow `path`: on each children
 * event, re-arm the watch with getChildren and read the data of the new children.
 * Returns a function giving a promise for the next completed update; `stop` ends it (so
 * it does not compete with what is measured next).
 */
async function byHand(
  raw: zookeeper.Client,
  path: string,
): Promise<{ next: () => Promise<void>; stop: () => void }> {
  let known = new Set<string>();
  let stopped = false;
  let seen: (() => void) | undefined;
  const done = () => {
    const r = seen;
    seen = undefined;
    r?.();
  };
  const onChildren = () => {
    if (stopped) return;
    raw.getChildren(path, onChildren, (_e, names) => {
      const fresh = names.filter((n) => !known.has(n));
      known = new Set(names);
      let left = fresh.length;
      if (left === 0) done();
      for (const n of fresh) {
        raw.getData(`${path}/${n}`, () => {
          if (--left === 0) done();
        });
      }
    });
  };
  await new Promise<void>((r) =>
    raw.getChildren(path, onChildren, (_e, names) => {
      known = new Set(names);
      r();
    }),
  );
  return {
    next: () => new Promise<void>((r) => (seen = r)),
    stop: () => {
      stopped = true;
    },
  };
}

async function zkBench(zk: ZookeeperServer): Promise<void> {
  const admin = new ZkClient(zk.connectionString);
  await admin.mkdirp('/raw');
  await admin.mkdirp('/kitts');
  const write = (path: string) => (i: number) =>
    i % 2 === 0
      ? admin.create(`${path}/n`, Buffer.from(`10.0.0.${i % 250}:80`), zookeeper.CreateMode.EPHEMERAL)
      : admin.remove(`${path}/n`);

  // Baseline: node-zookeeper-client by hand: the children watch fires, re-arm it with
  // getChildren, read the data of the new children. Any client must do that much.
  const raw = zookeeper.createClient(zk.connectionString);
  raw.connect();
  await new Promise<void>((r) => raw.once('connected', () => r()));
  const small = await byHand(raw, '/raw');
  const rawStats = await propagation(CHANGES, write('/raw'), small.next);
  small.stop();

  const client = new ZkClient(zk.connectionString);
  const instancer = zkInstancer(client, { path: '/kitts' });
  await instancer.ready;
  const endpointer = new Endpointer(instancer, () => nop);
  const ours = await propagation(CHANGES, write('/kitts'), changes(endpointer));
  await endpointer.close();
  await instancer.close();
  table(`ZooKeeper: write -> change seen, ${CHANGES} changes (create/delete alternating)`, [
    ['node-zookeeper-client watch + reads (baseline)', rawStats],
    ['zkInstancer -> Endpointer', ours],
  ]);

  await admin.mkdirp('/big');
  for (let i = 0; i < BIG; i += 500) {
    const batch = [];
    for (let j = i; j < Math.min(BIG, i + 500); j++) {
      batch.push(
        admin.create(
          `/big/i${j}`,
          Buffer.from(`10.1.${j >> 8}.${j & 255}:80`),
          zookeeper.CreateMode.PERSISTENT,
        ),
      );
    }
    await Promise.all(batch);
  }
  const reads: number[] = [];
  const initial: number[] = [];
  for (let r = 0; r < 5; r++) {
    let t0 = now();
    const names = await admin.getChildren('/big');
    await Promise.all(names.map((n) => admin.getData(`/big/${n}`)));
    reads.push(now() - t0);
    t0 = now();
    const inst = zkInstancer(client, { path: '/big' });
    const ep = await until(inst, BIG);
    initial.push(now() - t0);
    await ep.close();
    await inst.close();
  }
  const large = await byHand(raw, '/big');
  const rawBig = await propagation(50, write('/big'), large.next, 10);
  large.stop();
  const big = zkInstancer(client, { path: '/big' });
  const bigEp = await until(big, BIG);
  const one = await propagation(50, write('/big'), changes(bigEp), 10);
  await bigEp.close();
  await big.close();
  table(
    `ZooKeeper: initial list of ${BIG} instances (median of 5)`,
    [
      ['getChildren + every getData (baseline)', stats(reads)],
      ['zkInstancer -> Endpointer ready', stats(initial)],
    ],
    'max',
  );
  table(`ZooKeeper: one change among ${BIG} instances (50 changes)`, [
    [`by hand, ${BIG} (baseline)`, rawBig],
    [`zkInstancer -> Endpointer, ${BIG}`, one],
  ]);
  raw.close();
  await client.close();
  await admin.close();
}

export async function run(): Promise<void> {
  const etcd = await startEtcd();
  const zk = await startZookeeper();
  try {
    await etcdBench(etcd);
    await zkBench(zk);
  } finally {
    await etcd.stop();
    await zk.stop();
  }
}
