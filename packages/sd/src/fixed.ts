import { InstanceBroadcaster } from './broadcaster.js';
import { toInstance } from './instance.js';
import type { Instance, Instancer, InstancerListener } from './types.js';

/** A static list of instances; accepts Instance objects or plain `"host:port"` strings. */
export class FixedInstancer implements Instancer {
  private readonly broadcaster: InstanceBroadcaster;

  constructor(instances: readonly (Instance | string)[]) {
    this.broadcaster = new InstanceBroadcaster({ initial: instances.map(toInstance) });
  }

  subscribe(listener: InstancerListener): () => void {
    return this.broadcaster.subscribe(listener);
  }

  async close(): Promise<void> {
    this.broadcaster.clear();
  }
}
