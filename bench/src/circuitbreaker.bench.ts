// bench/circuitbreaker: per-call overhead of a breaker over a bare `await endpoint()`, side
// by side with opossum 9 and cockatiel 3, on the success path, with 10% failures, and as
// the number of requests in the rolling window grows (1k vs 100k per window).
import { EventEmitter } from 'node:events';
import { circuitBreaker, consecutiveFailures } from '@kitts/circuitbreaker';
import { background, type Endpoint } from '@kitts/endpoint';
import {
  ConsecutiveBreaker,
  circuitBreaker as cockatielBreaker,
  handleAll,
  type IPolicy,
  SamplingBreaker,
} from 'cockatiel';
import OpossumBreaker from 'opossum';
import { type Case, group } from './harness.js';

const ctx = background();
const noop = () => {};
// One error, thrown again and again: its stack capture is not what is measured here.
const boom = new Error('boom');

/** A leaf endpoint; with `failEvery`, every n-th call fails. */
function leaf(failEvery = 0): Endpoint<number, number> {
  let i = 0;
  return async (_ctx, n) => {
    if (failEvery > 0 && ++i % failEvery === 0) throw boom;
    return n;
  };
}

const opossums: OpossumBreaker[] = [];
function opossum(action: Endpoint<number, number>, options: OpossumBreaker.Options = {}) {
  const b = new OpossumBreaker(action, options);
  opossums.push(b as OpossumBreaker);
  return b;
}

function cockatiel(breaker: ConsecutiveBreaker | SamplingBreaker): IPolicy {
  return cockatielBreaker(handleAll, { halfOpenAfter: 5_000, breaker });
}

/** The same cases for the success path and for 10% failures. */
function peers(failEvery: number): Case[] {
  const wrapFn = (p: Promise<unknown>) => (failEvery > 0 ? p.then(noop, noop) : p);
  const bare = leaf(failEvery);
  const kitts = circuitBreaker<number, number>()(leaf(failEvery));
  const kittsConsecutive = circuitBreaker<number, number>({ trip: consecutiveFailures(5) })(leaf(failEvery));
  const opDefaults = opossum(leaf(failEvery));
  const opNoPercentiles = opossum(leaf(failEvery), { rollingPercentilesEnabled: false });
  const ckConsecutive = cockatiel(new ConsecutiveBreaker(5));
  const ckSampling = cockatiel(new SamplingBreaker({ threshold: 0.5, duration: 10_000, minimumRps: 2 }));
  const ckLeaf1 = leaf(failEvery);
  const ckLeaf2 = leaf(failEvery);
  return [
    { name: 'bare await endpoint()', fn: () => wrapFn(bare(ctx, 1)) },
    { name: 'kitts circuitBreaker() (Hystrix defaults)', fn: () => wrapFn(kitts(ctx, 1)) },
    {
      name: 'kitts circuitBreaker({ trip: consecutiveFailures(5) })',
      fn: () => wrapFn(kittsConsecutive(ctx, 1)),
    },
    { name: 'opossum 9 (defaults)', fn: () => wrapFn(opDefaults.fire(ctx, 1)) },
    { name: 'opossum 9 (rollingPercentilesEnabled: false)', fn: () => wrapFn(opNoPercentiles.fire(ctx, 1)) },
    {
      name: 'cockatiel 3 ConsecutiveBreaker(5)',
      fn: () => wrapFn(ckConsecutive.execute(() => ckLeaf1(ctx, 1))),
    },
    {
      name: 'cockatiel 3 SamplingBreaker(0.5, 10 s)',
      fn: () => wrapFn(ckSampling.execute(() => ckLeaf2(ctx, 1))),
    },
  ];
}

/**
 * 10% failures with `perWindow` requests in each 10 s window. kitts gets a clock that
 * advances window/perWindow ms per call; opossum's buckets are rotated by its
 * rotateBucketController every perWindow/10 calls. Each window is filled before measuring.
 */
async function windowGroup(perWindow: number, options: { batch: number; rounds: number }): Promise<void> {
  let t = 0;
  const kitts = circuitBreaker<number, number>({ now: () => t, volumeThreshold: 20 })(leaf(10));
  const step = 10_000 / perWindow;
  const rotate = (controller: EventEmitter) => {
    let calls = 0;
    return () => {
      if (++calls % (perWindow / 10) === 0) controller.emit('rotate');
    };
  };
  let failing = false;
  const gatedLeaf = (): Endpoint<number, number> => {
    const inner = leaf(10);
    return async (c, n) => (failing ? inner(c, n) : n);
  };
  const withRotation = (options: OpossumBreaker.Options) => {
    const controller = new EventEmitter();
    const breaker = opossum(gatedLeaf(), { ...options, rotateBucketController: controller });
    return { breaker, tick: rotate(controller) };
  };
  const opDefaults = withRotation({});
  const opNoPercentiles = withRotation({ rollingPercentilesEnabled: false });
  // Fill each window first; opossum's with successes (it sorts latencies only on failures).
  for (let i = 0; i < perWindow; i++) {
    t += step;
    await kitts(ctx, 1).then(noop, noop);
    opDefaults.tick();
    await opDefaults.breaker.fire(ctx, 1);
    opNoPercentiles.tick();
    await opNoPercentiles.breaker.fire(ctx, 1);
  }
  failing = true;
  const bare = leaf(10);
  await group(
    `10% failures, ${perWindow.toLocaleString('en')} requests per 10 s window`,
    [
      { name: 'bare await endpoint()', fn: () => bare(ctx, 1).then(noop, noop) },
      {
        name: 'kitts circuitBreaker() (injected clock)',
        fn: () => {
          t += step;
          return kitts(ctx, 1).then(noop, noop);
        },
      },
      {
        name: 'opossum 9 (defaults)',
        fn: () => {
          opDefaults.tick();
          return opDefaults.breaker.fire(ctx, 1).then(noop, noop);
        },
      },
      {
        name: 'opossum 9 (rollingPercentilesEnabled: false)',
        fn: () => {
          opNoPercentiles.tick();
          return opNoPercentiles.breaker.fire(ctx, 1).then(noop, noop);
        },
      },
    ],
    { ...options, warmup: 1 },
  );
}

export async function run(): Promise<void> {
  try {
    await group('success path: per-call cost', peers(0));
    const failing = peers(10);
    const opossumDefaults = failing.splice(3, 1);
    await group('10% failures: per-call cost (none of them trips)', failing, { batch: 5_000, rounds: 7 });
    // opossum sorts every latency of its window on each failure: milliseconds a call here,
    // so it runs in small batches beside the baseline and kitts.
    await group(
      '10% failures: opossum 9 defaults, in small batches',
      [...failing.slice(0, 2), ...opossumDefaults],
      {
        batch: 500,
        rounds: 5,
        warmup: 1,
      },
    );
    await windowGroup(1_000, { batch: 5_000, rounds: 5 });
    await windowGroup(100_000, { batch: 1_000, rounds: 5 });
  } finally {
    for (const b of opossums) b.shutdown();
  }
}
