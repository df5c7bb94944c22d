export type { DnsSrvInstancerOptions, SrvResolver } from './instancer.js';
export { DnsSrvInstancer, dnsSrvInstancer } from './instancer.js';
export type { SrvRecord } from './srv.js';
export { groupInstances, priorityGroups } from './srv.js';
