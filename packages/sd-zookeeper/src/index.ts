export { decodeInstance, encodeInstance } from '@kitts/sd';
export type { ZkClientOptions, ZkEvent, ZkState, ZkWatcher } from './client.js';
export { isZkError, ZkClient, ZkClosedError } from './client.js';
export type { ZkInstancerOptions } from './instancer.js';
export { connectInstancer, ZkInstancer, zkInstancer } from './instancer.js';
export type { ZkRegistrarOptions } from './registrar.js';
export { ZkRegistrar, zkRegistrar } from './registrar.js';
