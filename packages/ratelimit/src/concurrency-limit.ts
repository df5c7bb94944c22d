/**
 * A bulkhead: at most `max` calls in flight, up to `queue` more waiting in order, the rest
 * refused at once. Waiting is abortable: a waiter whose context ends leaves the queue.
 */
import { type Context, type Endpoint, type Middleware, RateLimitedError } from '@kitts/endpoint';

export interface ConcurrencyLimitOptions {
  /** Calls in flight at once. */
  max: number;
  /** Calls that may wait for a slot; beyond that, calls are refused. Default 0. */
  queue?: number;
}

/** The middleware, plus its live counts for metrics. */
export interface ConcurrencyLimit<Req = any, Res = any> extends Middleware<Req, Res> {
  readonly inFlight: number;
  readonly queued: number;
}

interface Waiter {
  resolve(): void;
  reject(err: unknown): void;
  signal: AbortSignal | undefined;
  onAbort: (() => void) | undefined;
}

/** Slots and a FIFO of waiters. A freed slot passes straight to the first waiter. */
class Slots {
  inFlight = 0;
  // A Set keeps insertion order and deletes in O(1): an aborted waiter leaves from anywhere.
  private readonly waiters = new Set<Waiter>();

  constructor(
    private readonly max: number,
    private readonly queue: number,
    private readonly refusal: () => Error,
  ) {}

  get queued(): number {
    return this.waiters.size;
  }

  /** True when a slot was taken at once; otherwise wait on `enqueue`. */
  tryAcquire(): boolean {
    if (this.inFlight < this.max) {
      this.inFlight++;
      return true;
    }
    return false;
  }

  enqueue(ctx: Context): Promise<void> {
    if (this.waiters.size >= this.queue) return Promise.reject(this.refusal());
    const early = ctx.err();
    if (early !== undefined) return Promise.reject(early);
    return new Promise<void>((resolve, reject) => {
      const waiter: Waiter = { resolve, reject, signal: undefined, onAbort: undefined };
      this.waiters.add(waiter);
      // Reading ctx.signal materializes it; only waiters pay for that.
      const signal = ctx.signal;
      const onAbort = () => {
        if (this.waiters.delete(waiter)) reject(ctx.err());
      };
      waiter.signal = signal;
      waiter.onAbort = onAbort;
      signal.addEventListener('abort', onAbort, { once: true });
    });
  }

  release(): void {
    for (const waiter of this.waiters) {
      this.waiters.delete(waiter);
      waiter.signal?.removeEventListener('abort', waiter.onAbort!);
      waiter.resolve(); // the slot passes on: inFlight stays the same
      return;
    }
    this.inFlight--;
  }
}

function guarded<Req, Res>(slots: Slots, next: Endpoint<Req, Res>): Endpoint<Req, Res> {
  return async (ctx, request) => {
    if (!slots.tryAcquire()) await slots.enqueue(ctx);
    try {
      return await next(ctx, request);
    } finally {
      slots.release();
    }
  };
}

/**
 * A bulkhead middleware. Everything it wraps shares the `max` slots. Refused calls get a
 * RateLimitedError with reason 'concurrency'; a queued call whose context ends leaves the
 * queue with the context's error.
 */
export function concurrencyLimit<Req = any, Res = any>(
  options: ConcurrencyLimitOptions,
): ConcurrencyLimit<Req, Res> {
  if (typeof options !== 'object' || options === null) {
    throw new TypeError('concurrencyLimit: options { max, queue? } are required');
  }
  const { max, queue = 0 } = options;
  if (typeof max !== 'number' || !Number.isSafeInteger(max) || max < 1) {
    throw new RangeError(`concurrencyLimit: max must be a positive integer, got ${String(max)}`);
  }
  if (typeof queue !== 'number' || !Number.isSafeInteger(queue) || queue < 0) {
    throw new RangeError(`concurrencyLimit: queue must be a non-negative integer, got ${String(queue)}`);
  }
  const slots = new Slots(
    max,
    queue,
    () =>
      new RateLimitedError(`concurrency limit: ${max} calls in flight and ${queue} waiting`, {
        reason: 'concurrency',
      }),
  );
  const middleware = (next: Endpoint<Req, Res>) => {
    if (typeof next !== 'function') throw new TypeError('concurrencyLimit: expected an endpoint function');
    return guarded(slots, next);
  };
  Object.defineProperties(middleware, {
    inFlight: { get: () => slots.inFlight, enumerable: true },
    queued: { get: () => slots.queued, enumerable: true },
  });
  return middleware as ConcurrencyLimit<Req, Res>;
}
