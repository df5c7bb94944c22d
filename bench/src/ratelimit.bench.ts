// bench/ratelimit: per-call cost of the limiters over a bare `await endpoint()`, and a
// simulation of an overloadable server behind no limit, fixed limits and the adaptive ones.
import { background, type Endpoint } from '@kitts/endpoint';
import { adaptiveLimit, aimd, concurrencyLimit, erroring, gradient, tokenBucket } from '@kitts/ratelimit';
import { group } from './harness.js';
import { type PhaseResult, type SimOptions, simulate } from './ratelimit-sim.js';

const sim: SimOptions = {
  // 32 workers at 20 ms: 1,600 requests/s. Then half the workers go (an instance lost).
  phases: [
    { name: 'normal: 1,000/s, 32 workers', duration: 5_000, load: 1_000, workers: 32 },
    { name: 'overload: 2,400/s, 32 workers', duration: 5_000, load: 2_400, workers: 32 },
    { name: 'capacity halved: 1,000/s, 16 workers', duration: 5_000, load: 1_000, workers: 16 },
    { name: 'recovery: 600/s, 16 workers', duration: 5_000, load: 600, workers: 16 },
  ],
  service: 20,
  deadline: 100,
};

function table(title: string, rows: { name: string; r: PhaseResult }[]): void {
  console.log(`\n${title}`);
  console.log('| limiter | goodput/s | p50 ms | p99 ms | rejected | timed out | mean limit |');
  console.log('| --- | ---: | ---: | ---: | ---: | ---: | ---: |');
  for (const { name, r } of rows) {
    const pct = (x: number) => `${(x * 100).toFixed(1)}%`;
    const ms = (x: number) => (Number.isNaN(x) ? '-' : x.toFixed(0));
    const limit = Number.isNaN(r.limit) ? '-' : r.limit.toFixed(1);
    console.log(
      `| ${name} | ${r.goodput.toFixed(0)} | ${ms(r.p50)} | ${ms(r.p99)} | ${pct(r.rejected)} | ${pct(r.timedOut)} | ${limit} |`,
    );
  }
}

async function simulation(): Promise<void> {
  const scenarios: [string, Parameters<typeof simulate>[1], (() => number) | undefined][] = [];
  scenarios.push(['no limit', () => undefined, undefined]);
  scenarios.push([
    'concurrencyLimit({ max: 200 }) (a guess)',
    () => concurrencyLimit({ max: 200 }),
    undefined,
  ]);
  scenarios.push([
    'concurrencyLimit({ max: 32 }) (the oracle, until workers change)',
    () => concurrencyLimit({ max: 32 }),
    undefined,
  ]);
  let aimdLimit: { limit: number } | undefined;
  scenarios.push([
    'adaptiveLimit(aimd({ slowRtt: 60 }))',
    (now) => (aimdLimit = adaptiveLimit({ algorithm: aimd({ slowRtt: 60 }), now })),
    () => aimdLimit!.limit,
  ]);
  let gradientLimit: { limit: number } | undefined;
  scenarios.push([
    'adaptiveLimit(gradient())',
    (now) => (gradientLimit = adaptiveLimit({ algorithm: gradient(), now })),
    () => gradientLimit!.limit,
  ]);
  const results: { name: string; rs: PhaseResult[] }[] = [];
  for (const [name, make, limitOf] of scenarios)
    results.push({ name, rs: await simulate(sim, make, limitOf) });
  sim.phases.forEach((phase, i) => {
    table(
      `simulation, ${phase.name} (20 ms service, 100 ms deadline)`,
      results.map(({ name, rs }) => ({ name, r: rs[i]! })),
    );
  });
}

export async function run(): Promise<void> {
  const ctx = background();
  const leaf: Endpoint<number, number> = async (_ctx, n) => n;
  const bucket = erroring<number, number>(tokenBucket({ rate: 1e12, burst: 1_000_000 }))(leaf);
  const bulkhead = concurrencyLimit<number, number>({ max: 1_000 })(leaf);
  const adaptiveAimd = adaptiveLimit<number, number>({ algorithm: aimd() })(leaf);
  const adaptiveGradient = adaptiveLimit<number, number>({ algorithm: gradient() })(leaf);
  await group('per-call cost, never limited', [
    { name: 'bare await endpoint()', fn: () => leaf(ctx, 1) },
    { name: 'erroring(tokenBucket())', fn: () => bucket(ctx, 1) },
    { name: 'concurrencyLimit({ max })', fn: () => bulkhead(ctx, 1) },
    { name: 'adaptiveLimit(aimd())', fn: () => adaptiveAimd(ctx, 1) },
    { name: 'adaptiveLimit(gradient())', fn: () => adaptiveGradient(ctx, 1) },
  ]);
  await simulation();
}
