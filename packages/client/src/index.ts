export { deadline } from './deadline.js';
export type { DiscoverOptions, Discovery } from './discover.js';
export { defaultRegistry, discover, parseDiscoveryUrl } from './discover.js';
export type { ListenAddress, Served, ServeOptions } from './serve.js';
export { serve } from './serve.js';
export type {
  Call,
  HashKeyFunction,
  MethodSettings,
  RetrySettings,
  ServiceClient,
  ServiceClientHandle,
  ServiceClientOptions,
} from './service-client.js';
export { serviceClient } from './service-client.js';
export type { Connection, MethodTable, ServiceTransport } from './transport.js';
