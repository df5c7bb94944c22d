import { type Registry, register } from 'prom-client';
import { checkName, checkPrefix } from './names.js';
import { counterOf, gaugeOf } from './shared.js';

type StateName = 'closed' | 'open' | 'half-open';
const STATES: readonly StateName[] = ['closed', 'open', 'half-open'];

/** What observeBreaker needs of a breaker: @kitts/circuitbreaker's CircuitBreaker fits. */
export interface ObservableBreaker {
  readonly state: { readonly value: StateName };
  onStateChange(listener: (change: { readonly to: { readonly value: StateName } }) => void): () => void;
  onReject(listener: (err: { readonly reason?: string }) => void): () => void;
}

export interface ObserveBreakerOptions {
  /** The `breaker` label. */
  name: string;
  registry?: Registry;
  prefix?: string;
}

/**
 * Export a breaker's state and refusals, fed by its onStateChange and onReject events:
 * `<prefix>circuit_state{breaker, state}` (1 for the current state, 0 for the others, so
 * `max by (breaker)` never sums two), `<prefix>circuit_transitions_total{breaker, to}`
 * and `<prefix>circuit_rejections_total{breaker, reason}`. Returns a function that stops
 * listening and removes the state series.
 */
export function observeBreaker(breaker: ObservableBreaker, options: ObserveBreakerOptions): () => void {
  if (typeof breaker?.onStateChange !== 'function' || typeof breaker.onReject !== 'function') {
    throw new TypeError(
      'kitts/metrics: observeBreaker() needs a breaker with onStateChange() and onReject()',
    );
  }
  const name = checkName(options?.name);
  const prefix = checkPrefix(options.prefix ?? 'kitts_');
  const registry = options.registry ?? register;
  const state = gaugeOf(registry, `${prefix}circuit_state`, 'Circuit breaker state: 1 for the current one.', [
    'breaker',
    'state',
  ]);
  const transitions = counterOf(
    registry,
    `${prefix}circuit_transitions_total`,
    'Circuit breaker state changes, by the state entered.',
    ['breaker', 'to'],
  );
  const rejections = counterOf(
    registry,
    `${prefix}circuit_rejections_total`,
    'Calls a circuit breaker refused, by reason (open, half-open, max-concurrency).',
    ['breaker', 'reason'],
  );
  // Label sets resolved once: events can come once per call while a breaker is open.
  const gauges = STATES.map((s) => state.labels({ breaker: name, state: s }));
  const entered = new Map(STATES.map((s) => [s, transitions.labels({ breaker: name, to: s })]));
  const show = (current: StateName) => {
    for (let i = 0; i < STATES.length; i++) gauges[i]!.set(STATES[i] === current ? 1 : 0);
  };
  show(breaker.state.value);
  const offChange = breaker.onStateChange((change) => {
    show(change.to.value);
    entered.get(change.to.value)?.inc();
  });
  const offReject = breaker.onReject((err) =>
    rejections.inc({ breaker: name, reason: err.reason ?? 'open' }),
  );
  let stopped = false;
  return () => {
    if (stopped) return;
    stopped = true;
    offChange();
    offReject();
    for (const s of STATES) state.remove({ breaker: name, state: s });
  };
}
