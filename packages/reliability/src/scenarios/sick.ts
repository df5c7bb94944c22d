/**
 * Sick instances: of five, one answers half its calls with 500 and one is ten times
 * slower. Three clients call at once, each at the same rate: peak-EWMA with per-instance
 * breakers (what should route around both), round robin with breakers (the serviceClient
 * default) and plain round robin. The instances count each client's calls apart (by the
 * `x-soak-client` header), so the shares are what each balancer really sent.
 */
import { peakEwma } from '@kitts/lb';
import { balancerIds, ctx0, type EchoClient, echoServiceClient } from '../clients.js';
import { Fleet } from '../fleet.js';
import { drive, type Load, summarize } from '../load.js';
import { Reporter, type ScenarioReport } from '../report.js';
import { pause, waitUntil } from './wait.js';

export interface SickOptions {
  etcd: { endpoint: string; port: number };
  fleet?: Fleet;
  dir?: string;
  instances?: number;
  /** Calls per second of each client. */
  rate: number;
  /** Time to let the balancers learn before counting, then the time counted (ms). */
  warmupMs: number;
  measureMs: number;
  /** Every instance's time per call; the slow one takes ten times this. */
  baseDelayMs?: number;
  log?: (line: string) => void;
}

interface Contender {
  tag: string;
  label: string;
  client: EchoClient;
  load?: Load;
}

export async function sick(o: SickOptions): Promise<ScenarioReport> {
  const { instances = 5, baseDelayMs = 20, log = () => {} } = o;
  const dir = o.dir ?? 'soak-sick';
  const rep = new Reporter('sick', 'Sick instance: 50% 500s, and 10x slow');
  const fleet =
    o.fleet ?? new Fleet({ transport: 'http', etcd: o.etcd.endpoint, prefix: `/${dir}/echo`, ttl: 2 });
  const discovery = `etcd://127.0.0.1:${o.etcd.port}/${dir}`;
  const contenders: Contender[] = [];
  try {
    const missing = instances - fleet.serving.length;
    if (missing > 0) await fleet.start(missing);
    while (fleet.serving.length > instances) await fleet.serving[0]!.stop();
    // Balancers order instances by id, and lb hands an unavailable entry's turn to the next
    // one in that order: the failing instance's successor (`next`) is reported on its own,
    // and the slow instance is not that successor, so its share measures latency awareness.
    const byId = [...fleet.serving].sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
    const [ill, next, slow, ...rest] = byId;
    for (const i of [next!, ...rest]) i.configure({ failRate: 0, delayMs: baseDelayMs });
    ill!.configure({ failRate: 0.5, delayMs: baseDelayMs });
    slow!.configure({ failRate: 0, delayMs: baseDelayMs * 10 });

    // Hystrix's default trips at 50% errors: an instance failing half its calls would sit
    // right on it. 25% over at least 10 calls trips it every time.
    const breaker = { errorThresholdPercentage: 25, volumeThreshold: 10 };
    const common = { transport: 'http' as const, discovery, timeout: 2000, breaker };
    contenders.push(
      {
        tag: 'pewma',
        label: 'peak-EWMA + breakers',
        client: await echoServiceClient({ ...common, tag: 'pewma', balancer: (e) => peakEwma(e) }),
      },
      {
        tag: 'rr',
        label: 'round robin + breakers',
        client: await echoServiceClient({ ...common, tag: 'rr' }),
      },
      {
        tag: 'rr-plain',
        label: 'round robin, no breakers',
        client: await echoServiceClient({ ...common, tag: 'rr-plain', breaker: false as const }),
      },
    );
    for (const c of contenders) {
      await waitUntil(
        () => balancerIds(c.client).size >= instances,
        15_000,
        `${c.label} to see ${instances}`,
      );
    }
    log(`sick: ${ill!.id} fails 50%, ${slow!.id} takes ${baseDelayMs * 10} ms; ${contenders.length} clients`);
    let seq = 0;
    for (const c of contenders) {
      c.load = drive(async () => (await c.client.get(ctx0, `k${seq++ % 1000}`)).served_by, { rate: o.rate });
    }
    await pause(o.warmupMs);
    await Promise.all(fleet.serving.map((i) => i.stats({ reset: true })));
    const from = Date.now();
    await pause(o.measureMs);
    const to = Date.now();
    const stats = new Map(
      await Promise.all(fleet.serving.map(async (i) => [i.id, await i.stats()] as const)),
    );
    await Promise.all(contenders.map((c) => c.load!.stop()));

    const share = (tag: string, id: string) => {
      let total = 0;
      for (const s of stats.values()) total += s.hits[tag] ?? 0;
      return total === 0 ? Number.NaN : ((stats.get(id)?.hits[tag] ?? 0) * 100) / total;
    };
    const figures = contenders.map((c) => ({ c, s: summarize(c.load!.samples, from, to) }));
    const [pewma] = figures;
    // Soft: a share over seconds on a shared machine moves with its noise (see the notes).
    rep.below(`${pewma!.c.label}: the failing instance's share`, share('pewma', ill!.id), 5, '%', {
      soft: true,
    });
    rep.below(`${pewma!.c.label}: the slow instance's share`, share('pewma', slow!.id), 5, '%', {
      soft: true,
    });
    const pct = (x: number) => (Number.isFinite(x) ? `${x.toFixed(1)}%` : 'n/a');
    const msOf = (x: number) => (Number.isFinite(x) ? `${x.toFixed(x < 10 ? 1 : 0)} ms` : 'n/a');
    rep.table = [
      ['', ...figures.map((f) => f.c.label)],
      ['failing instance (50% 500s): share of calls', ...figures.map((f) => pct(share(f.c.tag, ill!.id)))],
      [
        `slow instance (${baseDelayMs * 10} ms): share of calls`,
        ...figures.map((f) => pct(share(f.c.tag, slow!.id))),
      ],
      ["the failing instance's successor by id: share", ...figures.map((f) => pct(share(f.c.tag, next!.id)))],
      [
        'each other healthy instance: share',
        ...figures.map((f) => rest.map((i) => pct(share(f.c.tag, i.id))).join(', ')),
      ],
      ['calls made', ...figures.map((f) => f.s.sent.toLocaleString('en-US'))],
      ['calls failed (a 500 is not retried)', ...figures.map((f) => f.s.failed.toLocaleString('en-US'))],
      ['p50 / p99', ...figures.map((f) => `${msOf(f.s.p50)} / ${msOf(f.s.p99)}`)],
    ];
    rep.note(
      `Each client ${o.rate} calls/s at once, for ${o.warmupMs / 1000} s of warm-up then ${o.measureMs / 1000} s ` +
        `counted; healthy instances take ${baseDelayMs} ms per call. Shares are counted by the instances. ` +
        'Breakers open at 25% errors over at least 10 calls in 10 s, for 5 s (the defaults say 50% over 20: ' +
        'an instance failing half its calls sits on that threshold and may never trip it). ' +
        'A 500 is final for the HTTP client (not retryable), so a client that keeps calling the failing ' +
        'instance fails about half of those calls.',
    );
    return rep.report();
  } finally {
    await Promise.all(contenders.map((c) => c.load?.stop()));
    await Promise.all(contenders.map((c) => c.client.close()));
    for (const i of fleet.serving) i.configure({ failRate: 0, delayMs: 0 });
    if (o.fleet === undefined) await fleet.stopAll();
  }
}
