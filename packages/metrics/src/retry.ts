import { Gauge, type Registry, register } from 'prom-client';
import { checkName, checkPrefix } from './names.js';
import { counterOf } from './shared.js';

/** @kitts/lb's RetryBudget: one deposit per call, one withdrawal per retry. */
export interface RetryBudgetLike {
  deposit(): void;
  tryWithdraw(): boolean;
  balance(): number;
}

export interface ObserveRetryBudgetOptions {
  /** The `budget` label. */
  name: string;
  registry?: Registry;
  prefix?: string;
}

const balances = new WeakMap<
  Registry,
  Map<string, { gauge: Gauge<string>; readers: Map<string, () => number> }>
>();

/**
 * A RetryBudget that counts what passes through it, to hand to `retry(balancer, { budget })`:
 * `<prefix>retries_total{budget}` for every retry the budget paid for,
 * `<prefix>retry_budget_exhausted_total{budget}` for every retry it refused (the call
 * then failed), and `<prefix>retry_budget_balance{budget}`, read from the budget when
 * scraped. Retry calls withdraw once per retry, so the counts are exact.
 */
export function observeRetryBudget<B extends RetryBudgetLike>(
  budget: B,
  options: ObserveRetryBudgetOptions,
): B {
  if (typeof budget?.tryWithdraw !== 'function' || typeof budget.deposit !== 'function') {
    throw new TypeError(
      'kitts/metrics: observeRetryBudget() needs a retry budget (deposit, tryWithdraw, balance)',
    );
  }
  const name = checkName(options?.name);
  const prefix = checkPrefix(options.prefix ?? 'kitts_');
  const registry = options.registry ?? register;
  const retries = counterOf(registry, `${prefix}retries_total`, 'Retries a retry budget paid for.', [
    'budget',
  ]).labels({ budget: name });
  const exhausted = counterOf(
    registry,
    `${prefix}retry_budget_exhausted_total`,
    'Retries a retry budget refused; each ended its call.',
    ['budget'],
  ).labels({ budget: name });
  balanceGauge(registry, prefix).set(name, () => budget.balance());

  const observed = Object.create(budget) as B;
  observed.deposit = () => budget.deposit();
  observed.tryWithdraw = () => {
    const ok = budget.tryWithdraw();
    if (ok) retries.inc();
    else exhausted.inc();
    return ok;
  };
  observed.balance = () => budget.balance();
  return observed;
}

/** One gauge per registry and prefix, reading every observed budget at scrape time. */
function balanceGauge(registry: Registry, prefix: string): Map<string, () => number> {
  let perPrefix = balances.get(registry);
  if (perPrefix === undefined) balances.set(registry, (perPrefix = new Map()));
  const metricName = `${prefix}retry_budget_balance`;
  const known = perPrefix.get(prefix);
  // registry.clear() drops the gauge: make a new one rather than read into the void.
  if (known !== undefined && registry.getSingleMetric(metricName) === known.gauge) return known.readers;
  const readers = new Map<string, () => number>();
  const gauge = new Gauge({
    name: metricName,
    help: 'Retries a retry budget would allow now.',
    labelNames: ['budget'],
    registers: [registry],
    collect(this: Gauge<string>) {
      for (const [budget, read] of readers) this.set({ budget }, read());
    },
  });
  perPrefix.set(prefix, { gauge, readers });
  return readers;
}
