export type {
  ClientOptions,
  ClientRequestFunc,
  ClientResponseFunc,
  DecodeResponseFunc,
  EncodeRequestFunc,
  UnaryMethod,
} from './client.js';
export { createUnaryClient, lookupMethod } from './client.js';
export type { ChannelPoolOptions, ClientConstructor, GrpcFactoryOptions, Lease } from './factory.js';
export { ChannelPool, grpcFactory } from './factory.js';
export type { GrpcErrorInit } from './grpc-error.js';
export { GrpcError, isRetryable, isRetryableCode } from './grpc-error.js';
export type {
  CheckHealthOptions,
  HealthCheckRequest,
  HealthCheckResponse,
  HealthListResponse,
  HealthService,
  ServingStatus,
  SettableStatus,
} from './health.js';
export { checkHealth, healthDefinition, healthService } from './health.js';
export type { IoTsCodec, Issue, Schema, StandardSchemaV1 } from './schema.js';
export { schemaDecoder, validate } from './schema.js';
export type {
  DecodeRequestFunc,
  EncodeResponseFunc,
  ServerCall,
  ServerFinalizerInfo,
  ServerOptions,
  ServerRequestFunc,
  ServerResponseFunc,
  ServerResponseInfo,
} from './server.js';
export { createUnaryHandler } from './server.js';
export type { StatusAnswer } from './status.js';
export { codeFromHttpStatus, httpStatusOf, Status, statusName, statusOf } from './status.js';
export type { ServerStreamMethod, StreamClientOptions, StreamServerOptions } from './stream.js';
export { createServerStreamClient, createServerStreamHandler } from './stream.js';
