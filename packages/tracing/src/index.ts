export {
  otelContextKey,
  otelContextOf,
  spanContextOf,
  spanOf,
  traceFields,
  withOtelContext,
  withSpan,
} from './context.js';
export type { TraceOptions } from './middleware.js';
export { traceClient, traceServer } from './middleware.js';
export type {
  IncomingHeaders,
  MetadataLike,
  OutgoingHeaders,
  PropagationOptions,
  Propagator,
} from './propagation.js';
export {
  extract,
  grpcClientPropagation,
  grpcServerPropagation,
  httpClientPropagation,
  httpClientStatus,
  httpServerPropagation,
  inject,
} from './propagation.js';
