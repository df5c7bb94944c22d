/**
 * An explicit, immutable request context in the manner of Go's context.Context.
 *
 * Cost is the design constraint. On Node 20 an AbortController plus abort() costs
 * microseconds while a plain call costs ~100 ns, and most contexts are created and
 * cancelled without anyone listening. So a context is a few numbers and a parent
 * pointer: the deadline is a number, `err()` is computed from the clock and the parent
 * chain, and the AbortController and its timer exist only once someone reads `signal`.
 */
import { CanceledError, DeadlineExceededError } from './errors.js';

/** A typed key for context values; compare by identity, as Go's unexported key types. */
export interface Key<T> {
  readonly name: string;
  /** Phantom field carrying T; never set. */
  readonly __type?: T;
}

export function key<T>(name: string): Key<T> {
  return Object.freeze({ name }) as Key<T>;
}

export interface Context {
  /** Absolute deadline in epoch milliseconds (per this context's clock), or undefined. */
  readonly deadline: number | undefined;
  /** Aborts when the context is cancelled or its deadline passes. Created on first read. */
  readonly signal: AbortSignal;
  /** undefined while live; then a CanceledError or DeadlineExceededError, always the same one. */
  err(): Error | undefined;
  value<T>(key: Key<T>): T | undefined;
  /** Milliseconds since the epoch by this context's clock (injectable through `background`). */
  now(): number;
}

export type CancelFunc = () => void;

export interface BackgroundOptions {
  /** The clock deadlines are measured against; Date.now by default. Tests inject one. */
  now?: () => number;
}

// The signal of a context that can never end. Shared: it never aborts, so nothing leaks.
let neverSignal: AbortSignal | undefined;

abstract class BaseContext implements Context {
  abstract readonly deadline: number | undefined;
  abstract readonly signal: AbortSignal;
  abstract err(): Error | undefined;
  abstract value<T>(key: Key<T>): T | undefined;
  abstract now(): number;
  /** The nearest ancestor-or-self that can be cancelled, used to link signals. */
  abstract cancelParent(): CancelContext | undefined;
}

class RootContext extends BaseContext {
  readonly deadline = undefined;
  constructor(readonly clock: () => number) {
    super();
  }
  get signal(): AbortSignal {
    neverSignal ??= new AbortController().signal;
    return neverSignal;
  }
  err(): undefined {
    return undefined;
  }
  value(): undefined {
    return undefined;
  }
  now(): number {
    return this.clock();
  }
  cancelParent(): undefined {
    return undefined;
  }
}

class ValueContext extends BaseContext {
  constructor(
    private readonly parent: BaseContext,
    private readonly k: Key<unknown>,
    private readonly v: unknown,
  ) {
    super();
  }
  get deadline(): number | undefined {
    return this.parent.deadline;
  }
  get signal(): AbortSignal {
    return this.parent.signal;
  }
  err(): Error | undefined {
    return this.parent.err();
  }
  value<T>(k: Key<T>): T | undefined {
    // Walk iteratively: value chains can be long and recursion shows up in profiles.
    let c: BaseContext = this;
    while (c instanceof ValueContext || c instanceof CancelContext) {
      if (c instanceof ValueContext) {
        if (c.k === k) return c.v as T;
        c = c.parent;
      } else {
        c = c.parentContext;
      }
    }
    return undefined;
  }
  now(): number {
    return this.parent.now();
  }
  cancelParent(): CancelContext | undefined {
    return this.parent.cancelParent();
  }
}

const MAX_TIMER_DELAY = 2 ** 31 - 1;

enum Done {
  No = 0,
  Canceled = 1,
  Deadline = 2,
}

class CancelContext extends BaseContext {
  private done: Done = Done.No;
  private error: Error | undefined;
  private controller: AbortController | undefined;
  private timer: NodeJS.Timeout | undefined;
  /** Children whose signal has been materialized and must hear about our cancellation. */
  private children: Set<CancelContext> | undefined;
  private linkedTo: CancelContext | undefined;
  /** Functions registered by onDone(), run once when this context ends. */
  private callbacks: Set<() => void> | undefined;

  constructor(
    readonly parentContext: BaseContext,
    readonly deadline: number | undefined,
  ) {
    super();
  }

  err(): Error | undefined {
    if (this.done === Done.No) {
      const inherited = this.parentContext.err();
      if (inherited !== undefined) return inherited;
      if (this.deadline === undefined || this.now() < this.deadline) return undefined;
      this.finish(Done.Deadline);
    }
    return this.errorFor();
  }

  value<T>(k: Key<T>): T | undefined {
    return this.parentContext.value(k);
  }

  now(): number {
    return this.parentContext.now();
  }

  cancelParent(): CancelContext {
    return this;
  }

  get signal(): AbortSignal {
    if (this.controller !== undefined) return this.controller.signal;
    const controller = new AbortController();
    this.controller = controller;
    const err = this.err();
    if (err !== undefined) {
      controller.abort(err);
      return controller.signal;
    }
    this.link();
    if (this.deadline !== undefined && this.timer === undefined) this.arm(this.deadline);
    return controller.signal;
  }

  onDone(fn: () => void): () => boolean {
    if (this.err() !== undefined) {
      queueMicrotask(fn);
      return () => false;
    }
    this.link();
    if (this.deadline !== undefined && this.timer === undefined) this.arm(this.deadline);
    (this.callbacks ??= new Set()).add(fn);
    // finish() drops the set before running it: a stop() after that reports false.
    return () => this.callbacks?.delete(fn) ?? false;
  }

  private arm(deadline: number): void {
    const delay = Math.max(0, deadline - this.now());
    // setTimeout fires at once for delays past 2^31-1 ms (~24.8 days): wait in steps.
    const timer =
      delay > MAX_TIMER_DELAY
        ? setTimeout(() => this.arm(deadline), MAX_TIMER_DELAY)
        : setTimeout(() => this.finish(Done.Deadline), delay);
    timer.unref();
    this.timer = timer;
  }

  /**
   * Register with the nearest cancellable ancestor, and it with its own, so a cancel
   * anywhere above reaches this context's signal. Ancestors allocate a Set, never a
   * controller or a timer.
   */
  protected link(): void {
    if (this.linkedTo !== undefined || this.done !== Done.No) return;
    const parent = this.parentContext.cancelParent();
    if (parent === undefined) return;
    parent.children ??= new Set();
    parent.children.add(this);
    this.linkedTo = parent;
    parent.link();
  }

  cancel(): void {
    if (this.done === Done.No) this.finish(Done.Canceled);
  }

  /** Inherit the parent's reason when the parent ended first, as Go does. */
  protected finish(reason: Done, inherited?: Error): void {
    if (this.done !== Done.No) return;
    this.done = reason;
    if (inherited !== undefined) this.error = inherited;
    if (this.timer !== undefined) {
      clearTimeout(this.timer);
      this.timer = undefined;
    }
    if (this.linkedTo !== undefined) {
      this.linkedTo.children?.delete(this);
      this.linkedTo = undefined;
    }
    if (this.controller !== undefined && !this.controller.signal.aborted)
      this.controller.abort(this.errorFor());
    const children = this.children;
    if (children !== undefined) {
      this.children = undefined;
      const err = this.errorFor();
      for (const child of children) child.finish(reason, err);
    }
    const callbacks = this.callbacks;
    if (callbacks !== undefined) {
      this.callbacks = undefined;
      for (const fn of callbacks) {
        try {
          fn();
        } catch (e) {
          // As a throwing abort listener would: reported, without stopping the others.
          queueMicrotask(() => {
            throw e;
          });
        }
      }
    }
  }

  private errorFor(): Error {
    // Created on demand and without a stack: capturing one costs microseconds, and the
    // stack of a cancellation would only point here.
    if (this.error === undefined) {
      const limit = Error.stackTraceLimit;
      Error.stackTraceLimit = 0;
      try {
        this.error = this.done === Done.Deadline ? new DeadlineExceededError() : new CanceledError();
      } finally {
        Error.stackTraceLimit = limit;
      }
    }
    return this.error;
  }
}

/** A cancellable context that also ends when an external AbortSignal aborts (a transport's request). */
class SignalContext extends CancelContext {
  private listening = false;
  constructor(
    parent: BaseContext,
    deadline: number | undefined,
    private readonly external: AbortSignal,
  ) {
    super(parent, deadline);
    if (external.aborted) this.cancel();
  }
  override get signal(): AbortSignal {
    this.listen();
    return super.signal;
  }
  protected override link(): void {
    this.listen();
    super.link();
  }
  override err(): Error | undefined {
    if (this.external.aborted) this.cancel();
    return super.err();
  }
  private listen(): void {
    if (this.listening) return;
    this.listening = true;
    const onAbort = () => this.cancel();
    this.external.addEventListener('abort', onAbort, { once: true });
    this.cleanup = () => this.external.removeEventListener('abort', onAbort);
  }
  private cleanup: (() => void) | undefined;
  protected override finish(reason: Done, inherited?: Error): void {
    super.finish(reason, inherited);
    this.cleanup?.();
    this.cleanup = undefined;
  }
}

const defaultRoot = new RootContext(Date.now);

/** The empty root context: never cancelled, no deadline, no values. */
export function background(options?: BackgroundOptions): Context {
  if (options?.now === undefined) return defaultRoot;
  return new RootContext(options.now);
}

/** Alias of background() for code that has not decided yet, as Go's context.TODO. */
export const todo = background;

export function withValue<T>(parent: Context, k: Key<T>, v: T): Context {
  return new ValueContext(asBase(parent), k as Key<unknown>, v);
}

export function withCancel(parent: Context): [Context, CancelFunc] {
  const c = new CancelContext(asBase(parent), parent.deadline);
  return [c, () => c.cancel()];
}

/** A child that ends at `deadline` (epoch ms) or the parent's deadline, whichever is earlier. */
export function withDeadline(parent: Context, deadline: number): [Context, CancelFunc] {
  const p = parent.deadline;
  const c = new CancelContext(asBase(parent), p !== undefined && p < deadline ? p : deadline);
  return [c, () => c.cancel()];
}

export function withTimeout(parent: Context, ms: number): [Context, CancelFunc] {
  return withDeadline(parent, parent.now() + ms);
}

/**
 * A child that is cancelled when `signal` aborts (a client disconnect, a caller's own
 * AbortController). The listener is attached only when the child's signal is read.
 */
export function withSignal(parent: Context, signal: AbortSignal): [Context, CancelFunc] {
  const c = new SignalContext(asBase(parent), parent.deadline, signal);
  return [c, () => c.cancel()];
}

const neverStops = () => false;

/**
 * Run `fn` once when `ctx` ends (cancelled, by itself or an ancestor, or past its
 * deadline), as Go's context.AfterFunc; in a microtask if it has already ended. Returns
 * a function that unregisters `fn` and says whether it did so before `fn` ran.
 *
 * Unlike listening on `ctx.signal`, this creates no AbortController (whose creation and
 * abort cost microseconds): only a timer when the context has a deadline. Made for the
 * per-call path of transports, which must cancel a call when its context ends. A context
 * that can never end never calls `fn`, and costs nothing.
 */
export function onDone(ctx: Context, fn: () => void): () => boolean {
  const c = asBase(ctx).cancelParent();
  return c === undefined ? neverStops : c.onDone(fn);
}

/** Milliseconds until the deadline (never negative), or undefined when there is none. */
export function timeRemaining(ctx: Context): number | undefined {
  const d = ctx.deadline;
  return d === undefined ? undefined : Math.max(0, d - ctx.now());
}

/**
 * Wait `ms` milliseconds, ending at once with the context's error when it ends first.
 * The timer is cleared either way. (It is not unref'd: the caller is waiting on it.)
 */
export function sleep(ctx: Context, ms: number): Promise<void> {
  const early = ctx.err();
  if (early !== undefined) return Promise.reject(early);
  if (ms <= 0) return Promise.resolve();
  return new Promise<void>((resolve, reject) => {
    const signal = ctx.signal;
    const onAbort = () => {
      clearTimeout(timer);
      reject(ctx.err() ?? new CanceledError());
    };
    const timer = setTimeout(() => {
      signal.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    signal.addEventListener('abort', onAbort, { once: true });
  });
}

function asBase(ctx: Context): BaseContext {
  if (ctx instanceof BaseContext) return ctx;
  throw new TypeError(
    'kitts: contexts must come from background() and the with* functions of @kitts/endpoint',
  );
}
