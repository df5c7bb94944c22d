/**
 * Instance churn: five instances registered in etcd under leases, a serviceClient driving
 * a steady rate at an idempotent method, and every few seconds one instance SIGKILLed
 * (no deregistration: its key goes when the lease runs out) and a new one started on a
 * new port. Nothing may fail: the client retries a dead instance's refused or reset
 * calls on another one until the registry drops it.
 */
import { balancerIds, ctx0, echoServiceClient, trackMembership } from '../clients.js';
import { Fleet, type Instance } from '../fleet.js';
import { drive, summarize } from '../load.js';
import { Reporter, type ScenarioReport, spread } from '../report.js';
import { pause, waitUntil } from './wait.js';

export interface ChurnOptions {
  transport: 'http' | 'grpc';
  /** etcd client URL and port. */
  etcd: { endpoint: string; port: number };
  /** Reuse these instances (their prefix must be `/<dir>/echo`); otherwise a fleet is made and stopped. */
  fleet?: Fleet;
  /** The etcd directory (`/<dir>/echo`). */
  dir?: string;
  instances?: number;
  /** Calls per second. */
  rate: number;
  /** Steady state before the first kill, then churn, in ms. */
  steadyMs: number;
  churnMs: number;
  killEveryMs: number;
  /** Lease TTL of the instances, s. */
  ttl?: number;
  log?: (line: string) => void;
}

export async function churn(o: ChurnOptions): Promise<ScenarioReport> {
  const { transport, instances = 5, ttl = 2, log = () => {} } = o;
  const dir = o.dir ?? `soak-churn-${transport}`;
  const rep = new Reporter(
    `churn-${transport}`,
    `Instance churn over ${transport === 'http' ? 'HTTP' : 'gRPC'}`,
  );
  const fleet = o.fleet ?? new Fleet({ transport, etcd: o.etcd.endpoint, prefix: `/${dir}/echo`, ttl });
  let spare: Promise<Instance[]> | undefined;
  const client = await echoServiceClient({
    transport,
    discovery: `etcd://127.0.0.1:${o.etcd.port}/${dir}`,
    timeout: 2000,
  });
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
    spare = fleet.spare(1);
    log(`churn/${transport}: ${instances} instances up; steady ${o.steadyMs} ms at ${o.rate}/s`);

    let seq = 0;
    const load = drive(async () => (await client.get(ctx0, `k${seq++ % 1000}`)).served_by, { rate: o.rate });
    const steadyAt = Date.now();
    await pause(o.steadyMs);
    const churnAt = Date.now();
    const churnEnd = churnAt + o.churnMs;
    const kills: { id: string; at: number }[] = [];
    const starts: Instance[] = [];
    for (let next = churnAt; next < churnEnd; next += o.killEveryMs) {
      await pause(next - Date.now());
      const victim = fleet.serving[0]!;
      kills.push({ id: victim.id, at: Date.now() });
      await victim.kill('SIGKILL');
      const [fresh] = await spare;
      spare = fleet.spare(1);
      await fresh!.start();
      starts.push(fresh!);
      log(`churn/${transport}: killed ${victim.id}, started ${fresh!.id} on :${fresh!.port}`);
    }
    await pause(churnEnd - Date.now());
    const churnDone = Date.now();
    // Let the last kill leave the balancer and the last start get traffic before stopping.
    await waitUntil(
      () =>
        kills.every((k) => members.left.has(k.id)) &&
        starts.every((s) => load.samples.some((x) => x.by === s.id)),
      ttl * 1000 + 5000,
      'the last kill to leave and the last start to get traffic',
    ).catch(() => {});
    await load.stop();

    const all = summarize(load.samples);
    const steady = summarize(load.samples, steadyAt, churnAt);
    const during = summarize(load.samples, churnAt, churnDone);
    const leave = kills.map((k) => (members.left.get(k.id) ?? Number.NaN) - k.at);
    const firstTraffic = starts.map((s) => {
      const first = load.samples.filter((x) => x.by === s.id).reduce((m, x) => Math.min(m, x.at), Infinity);
      return first - s.startedAt!;
    });
    const joinDelay = starts.map((s) => (members.joined.get(s.id) ?? Number.NaN) - s.startedAt!);

    rep.info('requests sent', all.sent);
    rep.info('succeeded', all.succeeded);
    rep.zero('failed', all.failed);
    rep.info('p50 / p99 steady state', `${ms(steady.p50)} / ${ms(steady.p99)}`);
    rep.info('p50 / p99 during churn', `${ms(during.p50)} / ${ms(during.p99)}`);
    rep.info('instances killed (SIGKILL) and started', kills.length);
    rep.info('kill -> gone from the balancer', spread(leave.filter(Number.isFinite)));
    rep.zero(
      'killed instances still in the balancer at the end',
      kills.filter((k) => !members.left.has(k.id)).length,
    );
    rep.info('start -> first call served', spread(firstTraffic.filter(Number.isFinite)));
    rep.info('start -> in the balancer', spread(joinDelay.filter(Number.isFinite)));
    rep.zero(
      'started instances that never got traffic',
      firstTraffic.filter((x) => !Number.isFinite(x)).length,
    );
    if (all.failed > 0) rep.note(`Failures by code: ${JSON.stringify(all.failures)}.`);
    rep.note(
      `${o.rate} calls/s, ${instances} instances (lease TTL ${ttl} s), steady ${o.steadyMs / 1000} s then ` +
        `one SIGKILL every ${o.killEveryMs / 1000} s for ${o.churnMs / 1000} s; serviceClient defaults ` +
        '(round robin, per-instance breakers, 3 attempts for idempotent calls) with a 2 s deadline. ' +
        '"start" is when a warm process is told to listen and register (Node boot excluded).',
    );
    return rep.report();
  } finally {
    members.stop();
    await client.close();
    await spare?.then((s) => Promise.all(s.map((i) => i.stop()))).catch(() => {});
    if (o.fleet === undefined) await fleet.stopAll();
  }
}

const ms = (x: number) => (Number.isFinite(x) ? `${x.toFixed(x < 10 ? 1 : 0)} ms` : 'n/a');
