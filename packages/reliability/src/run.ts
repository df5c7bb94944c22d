/**
 * The whole soak, scenario after scenario, against one real etcd: what `npm run soak`
 * runs (long counts) and what the short test inside `npm test` runs (short counts).
 * `--duration` sets the seconds of timed load, shared out between the timed scenarios;
 * the etcd outage always lasts 10 s on top.
 */
import { startEtcd } from '@kitts/testkit';
import { Fleet } from './fleet.js';
import type { ScenarioReport } from './report.js';
import { badInput } from './scenarios/bad-input.js';
import { churn } from './scenarios/churn.js';
import { leaks } from './scenarios/leaks.js';
import { outage } from './scenarios/outage.js';
import { sick } from './scenarios/sick.js';

export interface SoakPlan {
  /** Seconds of timed load. */
  duration: number;
  /** Calls per second of each client. */
  rate: number;
  churn: { steadyMs: number; churnMs: number; killEveryMs: number };
  outage: { beforeMs: number; outageMs: number; afterMs: number };
  sick: { warmupMs: number; measureMs: number };
  badInput: { http: number; grpc: number };
  leakCycles: number;
}

/** The counts of the issue for the long run; a tenth (bad input) or a twentieth (leaks) for the short one. */
export function plan(duration: number, counts: 'short' | 'long'): SoakPlan {
  if (!(Number.isFinite(duration) && duration >= 20 && duration <= 24 * 3600)) {
    throw new RangeError(`reliability: --duration must be 20 to 86400 seconds, got ${duration}`);
  }
  const ms = (share: number) => Math.round(duration * 1000 * share);
  const churnMs = ms(0.25);
  return {
    duration,
    rate: 100,
    churn: {
      steadyMs: Math.round(churnMs / 4),
      churnMs: churnMs - Math.round(churnMs / 4),
      killEveryMs: 2500,
    },
    outage: { beforeMs: ms(0.05), outageMs: 10_000, afterMs: ms(0.05) },
    sick: { warmupMs: ms(0.1), measureMs: ms(0.2) },
    badInput: counts === 'long' ? { http: 10_000, grpc: 1_000 } : { http: 1_600, grpc: 210 },
    leakCycles: counts === 'long' ? 1_000 : 50,
  };
}

export type ScenarioName = 'churn-http' | 'outage' | 'sick' | 'churn-grpc' | 'bad-input' | 'leaks';
export const SCENARIOS: readonly ScenarioName[] = [
  'churn-http',
  'outage',
  'sick',
  'churn-grpc',
  'bad-input',
  'leaks',
];

/**
 * Runs the scenarios in order, handing each report to `onReport` as it comes. Every
 * process started (etcd, instances) is stopped before it returns or throws.
 */
export async function runSoak(
  p: SoakPlan,
  {
    only = SCENARIOS,
    log = () => {},
    onReport = () => {},
  }: {
    only?: readonly ScenarioName[];
    log?: (line: string) => void;
    onReport?: (r: ScenarioReport) => void;
  } = {},
): Promise<ScenarioReport[]> {
  const reports: ScenarioReport[] = [];
  const add = (r: ScenarioReport) => {
    reports.push(r);
    onReport(r);
  };
  const etcd = await startEtcd();
  // One HTTP fleet for churn, outage and the sick instances: the instances a scenario
  // leaves behind are the next one's (fewer processes to boot on a small machine).
  const http = new Fleet({ transport: 'http', etcd: etcd.endpoint, prefix: '/soak-http/echo', ttl: 2 });
  const grpc = new Fleet({ transport: 'grpc', etcd: etcd.endpoint, prefix: '/soak-grpc/echo', ttl: 2 });
  const users = (fleet: ScenarioName[]) => [...only].reverse().find((n) => fleet.includes(n));
  const lastHttp = users(['churn-http', 'outage', 'sick']);
  try {
    for (const name of only) {
      const t0 = Date.now();
      log(`soak: ${name}`);
      switch (name) {
        case 'churn-http':
          add(
            await churn({
              transport: 'http',
              etcd,
              fleet: http,
              dir: 'soak-http',
              rate: p.rate,
              ...p.churn,
              log,
            }),
          );
          break;
        case 'outage':
          add(await outage({ etcd, fleet: http, dir: 'soak-http', rate: p.rate, ...p.outage, log }));
          break;
        case 'sick':
          add(await sick({ etcd, fleet: http, dir: 'soak-http', rate: p.rate, ...p.sick, log }));
          break;
        case 'churn-grpc':
          add(
            await churn({
              transport: 'grpc',
              etcd,
              fleet: grpc,
              dir: 'soak-grpc',
              rate: p.rate,
              ...p.churn,
              log,
            }),
          );
          break;
        case 'bad-input':
          for (const r of await badInput({ httpCount: p.badInput.http, grpcCount: p.badInput.grpc, log }))
            add(r);
          break;
        case 'leaks':
          add(await leaks({ cycles: p.leakCycles, etcd, log }));
          break;
      }
      // Stop each fleet after its last scenario: idle processes still cost the next ones.
      if (name === lastHttp) await http.stopAll();
      if (name === 'churn-grpc') await grpc.stopAll();
      log(`soak: ${name} took ${((Date.now() - t0) / 1000).toFixed(1)} s`);
    }
    return reports;
  } finally {
    await Promise.all([http.stopAll(), grpc.stopAll()]);
    await etcd.stop();
  }
}
