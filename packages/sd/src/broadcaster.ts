import { type Logger, silentLogger } from '@kitts/endpoint';
import { sameInstances, sortedUnique } from './instance.js';
import type { Instance, InstancerEvent, InstancerListener } from './types.js';

/**
 * The state every Instancer keeps and the rules it follows when telling subscribers
 * (go-kit's instance.Cache): instances sorted by id and de-duplicated; a subscriber gets
 * the current state at once; an event equal to the current state is not sent again; an
 * error keeps the last known instances; one listener throwing does not stop the others.
 * Registry adapters build on it, so they all behave alike.
 */
export class InstanceBroadcaster {
  private state: InstancerEvent = { instances: [] };
  private readonly listeners = new Set<InstancerListener>();
  private readonly logger: Logger;

  constructor(options: { logger?: Logger; initial?: readonly Instance[] } = {}) {
    this.logger = options.logger ?? silentLogger;
    if (options.initial) this.state = { instances: sortedUnique(options.initial) };
  }

  /** The current state: the last known instances and, while the registry fails, the error. */
  get current(): InstancerEvent {
    return this.state;
  }

  /** Report a fresh set from the registry. Returns true when it changed anything. */
  update(instances: readonly Instance[]): boolean {
    const next = sortedUnique(instances);
    if (this.state.error === undefined && sameInstances(this.state.instances, next)) return false;
    this.state = { instances: next };
    this.broadcast();
    return true;
  }

  /** Report a registry failure; the last known instances stay. Repeats of the same message are not re-sent. */
  fail(error: Error): boolean {
    if (this.state.error !== undefined && this.state.error.message === error.message) return false;
    this.state = { instances: this.state.instances, error };
    this.broadcast();
    return true;
  }

  subscribe(listener: InstancerListener): () => void {
    this.listeners.add(listener);
    this.deliver(listener, this.state);
    return () => {
      this.listeners.delete(listener);
    };
  }

  /** Drop every subscriber. */
  clear(): void {
    this.listeners.clear();
  }

  get subscribers(): number {
    return this.listeners.size;
  }

  private broadcast(): void {
    for (const l of [...this.listeners]) this.deliver(l, this.state);
  }

  private deliver(listener: InstancerListener, state: InstancerEvent): void {
    // Each subscriber gets its own copy: one cannot disturb what another sees.
    const event: InstancerEvent =
      state.error === undefined
        ? { instances: state.instances.slice() }
        : { instances: state.instances.slice(), error: state.error };
    try {
      listener(event);
    } catch (err) {
      this.logger.error({ err }, 'kitts/sd: an instancer listener threw');
    }
  }
}
