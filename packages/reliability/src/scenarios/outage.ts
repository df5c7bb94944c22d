/**
 * Registry outage: etcd is killed under load and restarted `outageMs` later. Calls must
 * keep flowing to the instances the client knows (a registry error never empties the
 * set), discovery must recover after the restart, and an instance started during the
 * outage (its registration retried until etcd is back) must show up and get traffic.
 */
import { discover } from '@kitts/client';
import { etcdInstancer } from '@kitts/sd-etcd';
import type { EtcdServer } from '@kitts/testkit';
import { balancerIds, ctx0, echoServiceClient, trackMembership } from '../clients.js';
import { resilientEtcdOptions } from '../etcd-options.js';
import { Fleet } from '../fleet.js';
import { drive, summarize } from '../load.js';
import { Reporter, type ScenarioReport } from '../report.js';
import { pause, waitUntil } from './wait.js';

export interface OutageOptions {
  etcd: EtcdServer;
  transport?: 'http' | 'grpc';
  fleet?: Fleet;
  dir?: string;
  instances?: number;
  rate: number;
  beforeMs: number;
  outageMs: number;
  afterMs: number;
  ttl?: number;
  log?: (line: string) => void;
}

export async function outage(o: OutageOptions): Promise<ScenarioReport> {
  const { etcd, transport = 'http', instances = 5, ttl = 2, log = () => {} } = o;
  const dir = o.dir ?? `soak-outage-${transport}`;
  const rep = new Reporter(`outage-${transport}`, `Registry outage (etcd down ${o.outageMs / 1000} s)`);
  const fleet = o.fleet ?? new Fleet({ transport, etcd: etcd.endpoint, prefix: `/${dir}/echo`, ttl });
  const url = `etcd://127.0.0.1:${etcd.port}/${dir}`;
  const instancer = discover(url, 'echo');
  const errors: number[] = [];
  const offErrors = instancer.subscribe((e) => {
    if (e.error !== undefined) errors.push(Date.now());
  });
  // Beside it, an instancer on an etcd3 client tuned for fast reconnection, to compare.
  const tuned = etcdInstancer(resilientEtcdOptions(etcd.endpoint), { prefix: `/${dir}/echo` });
  const tunedSeen = new Map<string, number>();
  const offTuned = tuned.subscribe((e) => {
    for (const i of e.instances) if (!tunedSeen.has(i.id)) tunedSeen.set(i.id, Date.now());
  });
  const client = await echoServiceClient({ transport, discovery: instancer, timeout: 2000 });
  const members = trackMembership(client);
  try {
    const missing = instances - fleet.serving.length;
    if (missing > 0) await fleet.start(missing);
    while (fleet.serving.length > instances) await fleet.serving[0]!.stop();
    await waitUntil(
      () => balancerIds(client).size >= instances,
      15_000,
      `${instances} instances in the balancer`,
    );
    const known = [...balancerIds(client)];
    const [late] = await fleet.spare(1);

    let seq = 0;
    const load = drive(async () => (await client.get(ctx0, `k${seq++ % 1000}`)).served_by, { rate: o.rate });
    const startAt = Date.now();
    await pause(o.beforeMs);
    const downAt = Date.now();
    await etcd.kill('SIGKILL');
    log(`outage: etcd killed (pid gone); down for ${o.outageMs} ms`);
    let smallest = balancerIds(client).size;
    const watch = setInterval(() => {
      smallest = Math.min(smallest, balancerIds(client).size);
    }, 50);
    await pause(o.outageMs / 3);
    // Listening at once; its registration is retried until etcd answers.
    await late!.start({ waitRegistered: false });
    log(`outage: started ${late!.id} on :${late!.port} while etcd is down`);
    await pause(downAt + o.outageMs - Date.now());
    clearInterval(watch);
    const restartAt = Date.now();
    await etcd.start();
    const upAt = Date.now();
    log(`outage: etcd back after ${restartAt - downAt} ms (healthy ${upAt - restartAt} ms later)`);
    await waitUntil(() => members.joined.has(late!.id), 60_000, `${late!.id} to join after the outage`).catch(
      () => {},
    );
    await waitUntil(() => load.samples.some((s) => s.by === late!.id), 10_000, 'traffic to it').catch(
      () => {},
    );
    await pause(o.afterMs);
    const endAt = Date.now();
    await load.stop();

    const all = summarize(load.samples);
    const before = summarize(load.samples, startAt, downAt);
    const during = summarize(load.samples, downAt, upAt);
    const after = summarize(load.samples, upAt, endAt);
    const firstLate = load.samples
      .filter((s) => s.by === late!.id)
      .reduce((m, s) => Math.min(m, s.at), Infinity);
    const dropped = known.filter((id) => members.left.has(id));

    rep.info('requests sent', all.sent);
    rep.zero('failed', all.failed);
    rep.zero('failed while etcd was down', during.failed);
    rep.info('p50 / p99 before', `${ms(before.p50)} / ${ms(before.p99)}`);
    rep.info('p50 / p99 while etcd was down', `${ms(during.p50)} / ${ms(during.p99)}`);
    rep.info('p50 / p99 after', `${ms(after.p50)} / ${ms(after.p99)}`);
    rep.info('registry errors reported to the client', errors.length);
    rep.zero('known instances dropped from the balancer', dropped.length);
    rep.zero(
      'instances missing from the balancer at any time while etcd was down',
      Math.max(0, instances - smallest),
    );
    rep.zero(
      'instance started during the outage and never seen after it',
      members.joined.has(late!.id) ? 0 : 1,
    );
    rep.info('etcd healthy -> its registration done', ms((late!.registeredAt ?? Number.NaN) - upAt));
    rep.info(
      'etcd healthy -> it is in the balancer (discover() defaults)',
      ms((members.joined.get(late!.id) ?? Number.NaN) - upAt),
    );
    rep.info('etcd healthy -> it serves its first call', ms(firstLate - upAt));
    rep.info(
      'the same, seen by an instancer with tuned etcd3 settings',
      ms((tunedSeen.get(late!.id) ?? Number.NaN) - upAt),
    );
    if (all.failed > 0) rep.note(`Failures by code: ${JSON.stringify(all.failures)}.`);
    if (dropped.length > 0) rep.note(`Dropped: ${dropped.join(', ')}.`);
    rep.note(
      `${o.rate} calls/s over ${transport === 'http' ? 'HTTP' : 'gRPC'} to ${instances} instances (lease TTL ${ttl} s); ` +
        `etcd SIGKILLed after ${o.beforeMs / 1000} s and restarted on the same data ${o.outageMs / 1000} s later. ` +
        `The client discovers through \`${url.replace(/:\d+\//, ':PORT/')}\` (etcd3's default client settings); ` +
        'the instances register, and the last row discovers, with an etcd3 client tuned for fast reconnection ' +
        '(src/etcd-options.ts): etcd3 keeps a failed host out for 5 s and backs its watch off up to 30 s by default.',
    );
    return rep.report();
  } finally {
    offErrors();
    offTuned();
    await tuned.close();
    members.stop();
    await client.close();
    await instancer.close();
    if (o.fleet === undefined) await fleet.stopAll();
  }
}

const ms = (x: number) => (Number.isFinite(x) ? `${Math.round(x).toLocaleString('en-US')} ms` : 'n/a');
