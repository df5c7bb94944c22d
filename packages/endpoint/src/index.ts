export type { BackgroundOptions, CancelFunc, Context, Key } from './context.js';
export {
  background,
  key,
  onDone,
  sleep,
  timeRemaining,
  todo,
  withCancel,
  withDeadline,
  withSignal,
  withTimeout,
  withValue,
} from './context.js';
export type { Endpoint, Failer, Middleware } from './endpoint.js';
export { businessError, chain, isFailer, nop } from './endpoint.js';
export type { CircuitOpenReason, Headers, KittsErrorOptions } from './errors.js';
export {
  CanceledError,
  CircuitOpenError,
  codeOf,
  DeadlineExceededError,
  DecodeError,
  headersOf,
  KittsError,
  NoEndpointsError,
  RateLimitedError,
  RetryError,
  statusCodeOf,
} from './errors.js';
export type { Logger } from './logger.js';
export { silentLogger } from './logger.js';
