import { type Endpoint, type Logger, silentLogger } from '@kitts/endpoint';
import { sameInstance, sortedUnique } from './instance.js';
import type { EndpointSet, Entry, Factory, Instance, Instancer, InstancerEvent } from './types.js';

export interface EndpointerOptions {
  /**
   * go-kit's InvalidateOnError: after a registry error, keep serving the last set for
   * this many milliseconds, then close every endpoint and make current() throw the
   * error. A later good event restores service. Without it, the last set is kept for
   * as long as the registry fails: a registry outage never empties the set by itself.
   */
  invalidateOnError?: number;
  /** Clock for invalidateOnError; Date.now by default. */
  now?: () => number;
  logger?: Logger;
}

export type EndpointSetListener<Req, Res> = (set: EndpointSet<Req, Res>) => void;

interface Slot<Req, Res> {
  entry: Entry<Req, Res>;
  close: (() => void | Promise<void>) | undefined;
  /** The last apply() pass that saw this instance. */
  generation: number;
}

const EMPTY: readonly never[] = Object.freeze([]);

/**
 * go-kit's endpoint cache, made right: it turns an Instancer's events into an
 * EndpointSet, calling the factory once per new instance, keeping the endpoint of every
 * surviving one, and closing vanished ones. `current()` is O(1) and allocation-free: the
 * set is rebuilt when the instances change, never when it is read.
 */
export class Endpointer<Req = unknown, Res = unknown> {
  private slots = new Map<string, Slot<Req, Res>>();
  private set: EndpointSet<Req, Res> = Object.freeze({ version: 0, entries: EMPTY });
  private readonly listeners = new Set<EndpointSetListener<Req, Res>>();
  private readonly unsubscribe: () => void;
  private readonly now: () => number;
  private readonly logger: Logger;
  private readonly invalidateOnError: number | undefined;
  /** Set while the registry reports errors and invalidateOnError is on. */
  private failure: { error: Error; deadline: number } | undefined;
  private invalidated: Error | undefined;
  private closed = false;
  private generation = 0;

  constructor(
    instancer: Instancer,
    private readonly factory: Factory<Req, Res>,
    options: EndpointerOptions = {},
  ) {
    this.now = options.now ?? Date.now;
    this.logger = options.logger ?? silentLogger;
    this.invalidateOnError = options.invalidateOnError;
    this.unsubscribe = instancer.subscribe((event) => this.onEvent(event));
  }

  /** The current set. Throws the registry's error once invalidateOnError has expired. */
  current(): EndpointSet<Req, Res> {
    if (this.failure !== undefined && this.now() >= this.failure.deadline) this.invalidate();
    if (this.invalidated !== undefined) throw this.invalidated;
    return this.set;
  }

  /** Called after every effective change with the new set. Returns an unsubscribe function. */
  onChange(listener: EndpointSetListener<Req, Res>): () => void {
    this.listeners.add(listener);
    return () => {
      this.listeners.delete(listener);
    };
  }

  /**
   * Resolves with the first set (the current one included) for which `predicate` holds,
   * or rejects after `timeout` ms naming what it waited for. A set that cannot be read
   * (invalidated by a registry error) counts as empty. The wait holds one timer (not
   * unref'd: the caller is waiting on it) and one listener, both released when it settles.
   */
  when(
    predicate: (set: EndpointSet<Req, Res>) => boolean,
    timeout: number,
    what = 'the endpoint set to change',
  ): Promise<EndpointSet<Req, Res>> {
    const read = (): EndpointSet<Req, Res> => {
      try {
        return this.current();
      } catch {
        return { version: this.set.version, entries: EMPTY };
      }
    };
    const now = read();
    if (predicate(now)) return Promise.resolve(now);
    return new Promise((resolve, reject) => {
      const off = this.onChange(() => {
        const set = read();
        if (!predicate(set)) return;
        clearTimeout(timer);
        off();
        resolve(set);
      });
      const timer = setTimeout(() => {
        off();
        reject(new Error(`kitts/sd: timed out after ${timeout} ms waiting for ${what}`));
      }, timeout);
    });
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.unsubscribe();
    this.listeners.clear();
    const closing = [...this.slots.values()].map((s) => this.closeSlot(s));
    this.slots = new Map();
    this.set = Object.freeze({ version: this.set.version + 1, entries: EMPTY });
    await Promise.all(closing);
  }

  private onEvent(event: InstancerEvent): void {
    if (this.closed) return;
    if (event.error !== undefined) {
      this.onError(event.error);
      return;
    }
    this.failure = undefined;
    this.invalidated = undefined;
    // apply() finds out itself when nothing changed (the same entries): no version bump.
    this.apply(sortedUnique(event.instances));
  }

  private onError(error: Error): void {
    if (this.invalidateOnError === undefined) {
      this.logger.warn({ err: error }, 'kitts/sd: registry error; keeping the last known endpoints');
      return;
    }
    // A second error keeps the first one and its deadline, as go-kit.
    if (this.failure !== undefined || this.invalidated !== undefined) return;
    this.failure = { error, deadline: this.now() + this.invalidateOnError };
  }

  private invalidate(): void {
    const { error } = this.failure!;
    this.failure = undefined;
    this.invalidated = error;
    for (const slot of this.slots.values()) void this.closeSlot(slot);
    this.slots = new Map();
    this.publish(EMPTY);
  }

  private apply(instances: readonly Instance[]): void {
    // Slots are updated in place and marked with this pass's generation; whatever is left
    // unmarked has vanished. One Map lookup per instance, no new Map per event.
    const gen = ++this.generation;
    const prev = this.set.entries;
    const entries: Entry<Req, Res>[] = new Array(instances.length);
    let n = 0;
    let changed = false;
    for (const instance of instances) {
      let slot = this.slots.get(instance.id);
      if (slot !== undefined && !sameInstance(slot.entry.instance, instance)) {
        if (slot.entry.instance.address === instance.address) {
          // Only weight, tags or meta changed: a new Entry around the same endpoint.
          slot.entry = makeEntry(instance, slot.entry.endpoint, slot.entry.available);
        } else {
          void this.closeSlot(slot);
          this.slots.delete(instance.id);
          slot = undefined;
        }
      }
      if (slot === undefined) {
        slot = this.create(instance);
        if (slot === undefined) continue;
        this.slots.set(instance.id, slot);
      }
      slot.generation = gen;
      if (!changed && prev[n] !== slot.entry) changed = true;
      entries[n++] = slot.entry;
    }
    entries.length = n;
    if (this.slots.size !== n) {
      for (const [id, slot] of this.slots) {
        if (slot.generation === gen) continue;
        void this.closeSlot(slot);
        this.slots.delete(id);
      }
    }
    if (changed || n !== prev.length) this.publish(entries);
  }

  private create(instance: Instance): Slot<Req, Res> | undefined {
    let made: ReturnType<Factory<Req, Res>>;
    try {
      made = this.factory(instance);
    } catch (err) {
      this.logger.error({ err, instance }, 'kitts/sd: the factory failed; skipping this instance');
      return undefined;
    }
    if (typeof made === 'function')
      return { entry: makeEntry(instance, made, undefined), close: undefined, generation: 0 };
    const available = made.available === undefined ? undefined : made.available.bind(made);
    const close = made.close === undefined ? undefined : made.close.bind(made);
    return { entry: makeEntry(instance, made.endpoint, available), close, generation: 0 };
  }

  private async closeSlot(slot: Slot<Req, Res>): Promise<void> {
    if (slot.close === undefined) return;
    try {
      await slot.close();
    } catch (err) {
      this.logger.error({ err, instance: slot.entry.instance }, 'kitts/sd: closing an endpoint failed');
    }
  }

  private publish(entries: readonly Entry<Req, Res>[]): void {
    this.set = Object.freeze({ version: this.set.version + 1, entries });
    for (const l of [...this.listeners]) {
      try {
        l(this.set);
      } catch (err) {
        this.logger.error({ err }, 'kitts/sd: an onChange listener threw');
      }
    }
  }
}

function makeEntry<Req, Res>(
  instance: Instance,
  endpoint: Endpoint<Req, Res>,
  available: (() => boolean) | undefined,
): Entry<Req, Res> {
  return Object.freeze(available === undefined ? { instance, endpoint } : { instance, endpoint, available });
}
