import type { CircuitOpenError, Middleware } from '@kitts/endpoint';
import type { Disposer } from './listeners.js';

/** The breaker's state; impossible combinations cannot be written. */
export type BreakerState =
  | { readonly value: 'closed'; readonly since: number }
  | { readonly value: 'open'; readonly openedAt: number; readonly until: number }
  | { readonly value: 'half-open'; readonly since: number };

export interface StateChange {
  readonly from: BreakerState;
  readonly to: BreakerState;
}

export interface SuccessEvent {
  /** Milliseconds by the breaker's clock (NaN for a call that started before the listener). */
  readonly duration: number;
}

export interface FailureEvent {
  readonly error: unknown;
  readonly duration: number;
}

/** Counts over the rolling window, for metrics. */
export interface BreakerSnapshot {
  readonly name: string;
  readonly state: BreakerState['value'];
  readonly successes: number;
  readonly failures: number;
  /** Calls refused by this breaker (open, half-open or max-concurrency). */
  readonly rejected: number;
  /** successes + failures: what the error percentage is computed over. */
  readonly total: number;
  readonly errorPercentage: number;
  readonly consecutiveFailures: number;
  readonly inFlight: number;
  /** Milliseconds until a probe may go through; 0 unless open. */
  readonly retryAfter: number;
}

/** A Middleware that shares one breaker among everything it wraps, plus its controls. */
export interface CircuitBreaker<Req = any, Res = any> extends Middleware<Req, Res> {
  readonly state: BreakerState;
  snapshot(): BreakerSnapshot;
  /** False while the breaker would refuse a call: open, probes all taken, or bulkhead full. */
  available(): boolean;
  onStateChange(listener: (change: StateChange) => void): Disposer;
  onReject(listener: (err: CircuitOpenError) => void): Disposer;
  onSuccess(listener: (event: SuccessEvent) => void): Disposer;
  onFailure(listener: (event: FailureEvent) => void): Disposer;
}
