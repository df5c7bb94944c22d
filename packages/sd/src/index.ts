export { InstanceBroadcaster } from './broadcaster.js';
export { checkInstance, decodeInstance, encodeInstance } from './codec.js';
export type { EndpointerOptions, EndpointSetListener } from './endpointer.js';
export { Endpointer } from './endpointer.js';
export { FixedInstancer } from './fixed.js';
export { compareById, sameInstance, sameInstances, sortedUnique, toInstance, weightOf } from './instance.js';
export { instanceKey } from './instance-key.js';
export type { HealthStatus, MemoryInstancerOptions, MemoryRegistrarOptions } from './memory.js';
export { MemoryRegistrar, MemoryRegistry } from './memory.js';
export { SortedInstances } from './sorted-instances.js';
export type {
  EndpointSet,
  Entry,
  Factory,
  FactoryResult,
  Instance,
  Instancer,
  InstancerEvent,
  InstancerListener,
  Registrar,
} from './types.js';
