export type {
  ClientAfterFunc,
  ClientBeforeFunc,
  ClientFinalizerFunc,
  ClientFinalizerInfo,
  ClientOptions,
  DecodeResponseFunc,
  EncodeRequestFunc,
  IncomingResponse,
  JsonResponseOptions,
  OutgoingRequest,
} from './client.js';
export { createClient, jsonRequest, jsonResponse } from './client.js';
export type { DecodeRequestFunc, JsonBodyOptions } from './decode.js';
export { jsonBody, pathParams, query, queryObject } from './decode.js';
export type { EncodeResponseFunc, ErrorBody, ErrorEncoder, JSONErrorEncoderOptions } from './encode.js';
export { defaultErrorEncoder, encodeJSON, errorBody, jsonErrorEncoder } from './encode.js';
export { ConnectionError, HttpError, isRetryable } from './errors.js';
export type { HttpFactoryOptions, PoolLease, PoolSetOptions } from './factory.js';
export { defaultPools, httpFactory, PoolSet } from './factory.js';
export {
  pathParamsKey,
  populateRequestContext,
  REQUEST_ID_HEADER,
  remoteAddress,
  requestHeaders,
  requestId,
  requestMethod,
  requestPath,
  TIMEOUT_HEADER,
} from './keys.js';
export type { Route, RouterOptions } from './router.js';
export { createRouter } from './router.js';
export type {
  Infer,
  IoTsType,
  Issue,
  Schema,
  StandardIssue,
  StandardResult,
  StandardSchemaV1,
} from './schema.js';
export { validator } from './schema.js';
export type {
  ErrorHandler,
  FinalizerInfo,
  HandlerOptions,
  HttpHandler,
  ServerAfterFunc,
  ServerBeforeFunc,
  ServerFinalizerFunc,
} from './server.js';
export { createHandler } from './server.js';
export type { ShutdownOptions } from './shutdown.js';
export { shutdown } from './shutdown.js';
