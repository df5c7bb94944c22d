export type { EurekaHttpOptions } from './http.js';
export { EurekaError } from './http.js';
export type { EurekaInstancerOptions } from './instancer.js';
export { EurekaInstancer, eurekaInstancer } from './instancer.js';
export type { EurekaInstanceInfo, EurekaPort } from './mapping.js';
export { toInstances } from './mapping.js';
export type { EurekaInstanceInput, EurekaRegistrarOptions, EurekaStatus } from './registrar.js';
export { EurekaRegistrar, eurekaRegistrar } from './registrar.js';
