export { circuitBreaker } from './breaker.js';
export type { FailureKind, FailurePredicate } from './is-failure.js';
export { defaultIsFailure } from './is-failure.js';
export type { Disposer } from './listeners.js';
export type { CircuitBreakerOptions, TripPolicy } from './options.js';
export { consecutiveFailures } from './options.js';
export type {
  BreakerSnapshot,
  BreakerState,
  CircuitBreaker,
  FailureEvent,
  StateChange,
  SuccessEvent,
} from './types.js';
export type { BreakerFactoryResult } from './with-breakers.js';
export { withBreakers } from './with-breakers.js';
