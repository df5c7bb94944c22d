export { decodeInstance, encodeInstance } from '@kitts/sd';
export type { RetryOptions } from './backoff.js';
export type { EtcdClientInput } from './client.js';
export type { EtcdInstancerOptions } from './instancer.js';
export { EtcdInstancer, etcdInstancer } from './instancer.js';
export type { EtcdRegistrarOptions } from './registrar.js';
export { EtcdRegistrar, etcdRegistrar } from './registrar.js';
