import type { Logger } from '@kitts/endpoint';

/** Removes the listener it was returned for; calling it twice is harmless. */
export type Disposer = () => void;

/**
 * A typed event with copy-on-write listeners: adding or removing one during an emit
 * affects the next emit only. A throwing listener is logged and never breaks the caller.
 */
export class Listeners<T> {
  private fns: readonly ((event: T) => void)[] = [];

  constructor(
    private readonly what: string,
    private readonly logger: Logger,
  ) {}

  get size(): number {
    return this.fns.length;
  }

  add(fn: (event: T) => void): Disposer {
    if (typeof fn !== 'function') throw new TypeError(`${this.what}: listener must be a function`);
    this.fns = [...this.fns, fn];
    let disposed = false;
    return () => {
      if (disposed) return;
      disposed = true;
      const i = this.fns.indexOf(fn);
      if (i >= 0) this.fns = [...this.fns.slice(0, i), ...this.fns.slice(i + 1)];
    };
  }

  emit(event: T): void {
    for (const fn of this.fns) {
      try {
        fn(event);
      } catch (err) {
        this.logger.error(`${this.what} listener threw`, err);
      }
    }
  }
}
