/**
 * A circuit breaker with Hystrix's semantics and defaults, at O(1) per call and with no
 * timer: the window rotates lazily and the open state ends when a call (or `available()`)
 * finds the sleep window elapsed.
 */
import {
  businessError,
  type CancelFunc,
  CircuitOpenError,
  type CircuitOpenReason,
  type Context,
  DeadlineExceededError,
  type Endpoint,
  silentLogger,
  withTimeout,
} from '@kitts/endpoint';
import { defaultIsFailure, type FailurePredicate } from './is-failure.js';
import { Listeners } from './listeners.js';
import { type CircuitBreakerOptions, type Settings, settle } from './options.js';
import type {
  BreakerSnapshot,
  BreakerState,
  CircuitBreaker,
  FailureEvent,
  StateChange,
  SuccessEvent,
} from './types.js';
import { RollingWindow } from './window.js';

const CLOSED = 0;
const OPEN = 1;
const HALF_OPEN = 2;
type Mode = typeof CLOSED | typeof OPEN | typeof HALF_OPEN;

/** Marks a call admitted while closed: it does not speak for any half-open period. */
const NOT_A_PROBE = -1;

class Breaker<Req, Res> {
  readonly s: Settings;
  private readonly isFailure: FailurePredicate;
  /** Only a user predicate can count business errors: skip the Failer check otherwise. */
  private readonly checkBusiness: boolean;
  private readonly fallback: CircuitBreakerOptions<Req, Res>['fallback'];
  private readonly now: () => number;
  private readonly window: RollingWindow;

  private mode: Mode = CLOSED;
  state: BreakerState;
  /** Bumped on every transition, so a late answer cannot decide a later half-open period. */
  private gen = 0;
  private until = 0;
  private probeSlots = 0;
  private probeSuccesses = 0;
  private consecutive = 0;
  private inFlight = 0;

  readonly changes: Listeners<StateChange>;
  readonly rejects: Listeners<CircuitOpenError>;
  readonly successes: Listeners<SuccessEvent>;
  readonly failures: Listeners<FailureEvent>;

  constructor(options: CircuitBreakerOptions<Req, Res>) {
    this.s = settle(options);
    this.isFailure = options.isFailure ?? defaultIsFailure;
    this.checkBusiness = options.isFailure !== undefined;
    this.fallback = options.fallback;
    this.now = options.now ?? Date.now;
    this.window = new RollingWindow(this.s.window, this.s.buckets);
    this.state = { value: 'closed', since: this.now() };
    const logger = options.logger ?? silentLogger;
    const what = `circuitBreaker(${this.s.name})`;
    this.changes = new Listeners(`${what} onStateChange`, logger);
    this.rejects = new Listeners(`${what} onReject`, logger);
    this.successes = new Listeners(`${what} onSuccess`, logger);
    this.failures = new Listeners(`${what} onFailure`, logger);
  }

  wrap(next: Endpoint<Req, Res>): Endpoint<Req, Res> {
    if (typeof next !== 'function') {
      throw new TypeError(
        `circuitBreaker(${this.s.name}): expected an endpoint function, got ${typeof next}`,
      );
    }
    return (ctx, request) => this.call(next, ctx, request);
  }

  private call(next: Endpoint<Req, Res>, ctx: Context, request: Req): Promise<Res> {
    let probe = NOT_A_PROBE;
    if (this.mode !== CLOSED) {
      const admitted = this.admit();
      if (typeof admitted !== 'number') return this.refuse(admitted, ctx, request);
      probe = admitted;
    }
    if (this.inFlight >= this.s.maxConcurrent) {
      if (probe !== NOT_A_PROBE) this.release(probe);
      const err = new CircuitOpenError(`${this.s.name}: ${this.s.maxConcurrent} calls already in flight`, {
        reason: 'max-concurrency',
      });
      return this.refuse(err, ctx, request);
    }
    this.inFlight++;
    if (
      probe === NOT_A_PROBE &&
      this.s.timeout === undefined &&
      this.successes.size + this.failures.size === 0
    ) {
      // The common case has little per call to remember: promise handlers instead of an
      // async frame (which costs about as much as the rest of the breaker).
      if (this.checkBusiness) {
        return invoke(next, ctx, request).then(
          (response) => this.afterBusiness(response, ctx),
          (err) => this.afterError(err, ctx, request, NOT_A_PROBE, Number.NaN),
        );
      }
      return invoke(next, ctx, request).then(this.onPlainSuccess, (err) =>
        this.afterError(err, ctx, request, NOT_A_PROBE, Number.NaN),
      );
    }
    return this.guarded(next, ctx, request, probe);
  }

  private readonly onPlainSuccess = (response: Res): Res => {
    this.inFlight--;
    this.succeeded(NOT_A_PROBE, Number.NaN);
    return response;
  };

  private afterBusiness(response: Res, ctx: Context): Res {
    this.inFlight--;
    const err = businessError(response);
    if (err !== undefined && this.isFailure(err, ctx, 'business')) this.failed(err, NOT_A_PROBE, Number.NaN);
    else this.succeeded(NOT_A_PROBE, Number.NaN);
    return response;
  }

  private async guarded(next: Endpoint<Req, Res>, ctx: Context, request: Req, probe: number): Promise<Res> {
    const start = this.successes.size + this.failures.size > 0 ? this.now() : Number.NaN;
    let callCtx = ctx;
    let cancel: CancelFunc | undefined;
    if (this.s.timeout !== undefined) [callCtx, cancel] = withTimeout(ctx, this.s.timeout);
    let response: Res;
    try {
      response = await next(callCtx, request);
    } catch (err) {
      cancel?.();
      return this.afterError(err, ctx, request, probe, start);
    }
    this.inFlight--;
    if (cancel !== undefined) {
      // The endpoint ignored its deadline and answered late: still a timeout to the breaker,
      // though the answer, being here, is returned.
      const late = callCtx.err();
      cancel();
      if (late instanceof DeadlineExceededError && this.isFailure(late, ctx, 'error')) {
        this.failed(late, probe, start);
        return response;
      }
    }
    if (this.checkBusiness) {
      const err = businessError(response);
      if (err !== undefined && this.isFailure(err, ctx, 'business')) {
        this.failed(err, probe, start);
        return response;
      }
    }
    this.succeeded(probe, start);
    return response;
  }

  /** Judge an error; answer with the fallback when it counted and there is one, else rethrow. */
  private afterError(
    err: unknown,
    ctx: Context,
    request: Req,
    probe: number,
    start: number,
  ): Res | Promise<Res> {
    this.inFlight--;
    if (!this.isFailure(err, ctx, 'error')) {
      this.answered(probe, ctx);
      throw err;
    }
    this.failed(err, probe, start);
    if (this.fallback !== undefined) return this.fallback(err, ctx, request);
    throw err;
  }

  /** Open or half-open: the half-open period this call probes, or why it may not go. */
  private admit(): number | CircuitOpenError {
    const now = this.now();
    if (this.mode === OPEN) {
      if (now < this.until) return this.openError('open', this.until - now);
      this.toHalfOpen(now);
    }
    if (this.probeSlots > 0) {
      this.probeSlots--;
      return this.gen;
    }
    // The probe's answer decides; when it comes is unknown, so no retryAfter.
    return this.openError('half-open', 0);
  }

  private openError(reason: CircuitOpenReason, retryAfter: number): CircuitOpenError {
    const message =
      reason === 'open'
        ? `${this.s.name} is open (a probe in ${Math.ceil(retryAfter)} ms)`
        : `${this.s.name} is half-open and its probe is in flight`;
    return new CircuitOpenError(message, { reason, retryAfter });
  }

  private refuse(err: CircuitOpenError, ctx: Context, request: Req): Promise<Res> {
    this.window.reject(this.now());
    if (this.rejects.size > 0) this.rejects.emit(err);
    if (this.fallback === undefined) return Promise.reject(err);
    try {
      return Promise.resolve(this.fallback(err, ctx, request));
    } catch (thrown) {
      return Promise.reject(thrown);
    }
  }

  private succeeded(probe: number, start: number): void {
    const now = this.now();
    this.window.success(now);
    this.consecutive = 0;
    if (this.successes.size > 0) this.successes.emit({ duration: now - start });
    if (probe !== NOT_A_PROBE) this.probeSucceeded(probe, now);
  }

  private failed(error: unknown, probe: number, start: number): void {
    const now = this.now();
    this.window.failure(now);
    if (this.failures.size > 0) this.failures.emit({ error, duration: now - start });
    if (probe !== NOT_A_PROBE) {
      if (probe === this.gen && this.mode === HALF_OPEN) this.open(now);
    } else if (this.mode === CLOSED) {
      this.consecutive++;
      if (this.shouldTrip()) this.open(now);
    }
  }

  /**
   * An error that does not count. A probe that got such an answer (a 4xx, a business
   * error) still proves the service is answering; one whose caller went away proved
   * nothing, so its slot goes back for the next call.
   */
  private answered(probe: number, ctx: Context): void {
    if (probe === NOT_A_PROBE) return;
    if (ctx.err() !== undefined) this.release(probe);
    else this.probeSucceeded(probe, this.now());
  }

  private probeSucceeded(probe: number, now: number): void {
    if (probe !== this.gen || this.mode !== HALF_OPEN) return;
    if (++this.probeSuccesses >= this.s.halfOpenProbes) this.close(now);
  }

  private release(probe: number): void {
    if (probe === this.gen && this.mode === HALF_OPEN) this.probeSlots++;
  }

  private shouldTrip(): boolean {
    const trip = this.s.trip;
    if (trip.kind === 'consecutive-failures') return this.consecutive >= trip.failures;
    const w = this.window;
    const total = w.successes + w.failures;
    return total >= trip.volumeThreshold && w.failures * 100 >= trip.threshold * total;
  }

  private open(now: number): void {
    this.mode = OPEN;
    this.gen++;
    this.until = now + this.s.sleepWindow;
    this.consecutive = 0;
    this.transition({ value: 'open', openedAt: now, until: this.until });
  }

  private toHalfOpen(now: number): void {
    this.mode = HALF_OPEN;
    this.gen++;
    this.probeSlots = this.s.halfOpenProbes;
    this.probeSuccesses = 0;
    this.transition({ value: 'half-open', since: now });
  }

  private close(now: number): void {
    this.mode = CLOSED;
    this.gen++;
    this.window.reset();
    this.consecutive = 0;
    this.transition({ value: 'closed', since: now });
  }

  private transition(to: BreakerState): void {
    const from = this.state;
    this.state = to;
    if (this.changes.size > 0) this.changes.emit({ from, to });
  }

  available(): boolean {
    if (this.inFlight >= this.s.maxConcurrent) return false;
    if (this.mode === CLOSED) return true;
    if (this.mode === OPEN) return this.now() >= this.until;
    return this.probeSlots > 0;
  }

  snapshot(): BreakerSnapshot {
    const now = this.now();
    const w = this.window;
    w.advance(now);
    const total = w.successes + w.failures;
    return {
      name: this.s.name,
      state: this.state.value,
      successes: w.successes,
      failures: w.failures,
      rejected: w.rejected,
      total,
      errorPercentage: total === 0 ? 0 : (w.failures * 100) / total,
      consecutiveFailures: this.consecutive,
      inFlight: this.inFlight,
      retryAfter: this.mode === OPEN ? Math.max(0, this.until - now) : 0,
    };
  }
}

/**
 * A circuit breaker middleware. Everything it wraps shares one breaker (as a Hystrix
 * command); use one per dependency, or `withBreakers` for one per instance.
 *
 * Closed, it counts outcomes over a rolling window and opens when the window holds at
 * least `volumeThreshold` requests of which `errorThresholdPercentage` failed (or by the
 * `trip` policy). Open, calls fail fast with CircuitOpenError for `sleepWindow` ms. Then
 * the next call finds it half-open and goes through as the probe: success closes the
 * breaker and clears the window, failure opens it again.
 */
export function circuitBreaker<Req = any, Res = any>(
  options: CircuitBreakerOptions<Req, Res> = {},
): CircuitBreaker<Req, Res> {
  const b = new Breaker<Req, Res>(options);
  const middleware = (next: Endpoint<Req, Res>) => b.wrap(next);
  const controls = {
    snapshot: () => b.snapshot(),
    available: () => b.available(),
    onStateChange: (l: (change: StateChange) => void) => b.changes.add(l),
    onReject: (l: (err: CircuitOpenError) => void) => b.rejects.add(l),
    onSuccess: (l: (event: SuccessEvent) => void) => b.successes.add(l),
    onFailure: (l: (event: FailureEvent) => void) => b.failures.add(l),
  };
  Object.defineProperty(middleware, 'state', { get: () => b.state, enumerable: true });
  return Object.assign(middleware, controls) as CircuitBreaker<Req, Res>;
}

/** Call the endpoint; one that throws, or returns a plain value, still yields a promise. */
function invoke<Req, Res>(next: Endpoint<Req, Res>, ctx: Context, request: Req): Promise<Res> {
  try {
    const p = next(ctx, request);
    return p instanceof Promise ? p : Promise.resolve(p);
  } catch (err) {
    return Promise.reject(err);
  }
}
