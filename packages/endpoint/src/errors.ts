/**
 * Errors with a stable `code`, and optionally an HTTP-style `statusCode` and `headers`
 * (go-kit's StatusCoder and Headerer) that transports use when they answer.
 */

export type Headers = Readonly<Record<string, string | readonly string[]>>;

export interface KittsErrorOptions {
  cause?: unknown;
  statusCode?: number;
  headers?: Headers;
}

/** Base class of every kitts error: `code` never changes between releases. */
export class KittsError extends Error {
  readonly code: string;
  readonly statusCode?: number;
  readonly headers?: Headers;

  constructor(code: string, message: string, options: KittsErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = new.target.name;
    this.code = code;
    if (options.statusCode !== undefined) this.statusCode = options.statusCode;
    if (options.headers !== undefined) this.headers = options.headers;
  }
}

/** The caller cancelled the context. 499 is nginx's "client closed request". */
export class CanceledError extends KittsError {
  constructor(message = 'context canceled', options: KittsErrorOptions = {}) {
    super('CANCELED', message, { statusCode: 499, ...options });
  }
}

/** The context's deadline passed. */
export class DeadlineExceededError extends KittsError {
  constructor(message = 'context deadline exceeded', options: KittsErrorOptions = {}) {
    super('DEADLINE_EXCEEDED', message, { statusCode: 504, ...options });
  }
}

/** A balancer had nothing to pick from. */
export class NoEndpointsError extends KittsError {
  constructor(message = 'no endpoints available', options: KittsErrorOptions = {}) {
    super('NO_ENDPOINTS', message, { statusCode: 503, ...options });
  }
}

/**
 * Every attempt failed. `final` is the last error, `errors` all of them in order;
 * the message reads "final (previously: e1; e2)", as go-kit's RetryError.
 */
export class RetryError extends KittsError {
  readonly final: unknown;
  readonly errors: readonly unknown[];

  constructor(errors: readonly unknown[], options: KittsErrorOptions = {}) {
    const final = errors[errors.length - 1];
    const earlier = errors.slice(0, -1).map(messageOf);
    const message =
      earlier.length > 0 ? `${messageOf(final)} (previously: ${earlier.join('; ')})` : messageOf(final);
    super('RETRY_EXHAUSTED', message, { cause: final, statusCode: statusCodeOf(final), ...options });
    this.final = final;
    this.errors = errors;
  }
}

export type CircuitOpenReason = 'open' | 'half-open' | 'max-concurrency';

/** A circuit breaker refused the call without running it. */
export class CircuitOpenError extends KittsError {
  /** Milliseconds until the breaker lets a probe through (0 when unknown or immediate). */
  readonly retryAfter: number;
  readonly reason: CircuitOpenReason;

  constructor(
    message = 'circuit breaker is open',
    init: { retryAfter?: number; reason?: CircuitOpenReason } & KittsErrorOptions = {},
  ) {
    const { retryAfter = 0, reason = 'open', ...options } = init;
    super('CIRCUIT_OPEN', message, { statusCode: 503, ...retryAfterHeader(retryAfter), ...options });
    this.retryAfter = retryAfter;
    this.reason = reason;
  }
}

/** A rate limiter or bulkhead refused the call. */
export class RateLimitedError extends KittsError {
  readonly retryAfter: number;
  readonly reason: string;

  constructor(
    message = 'rate limit exceeded',
    init: { retryAfter?: number; reason?: string } & KittsErrorOptions = {},
  ) {
    const { retryAfter = 0, reason = 'rate', ...options } = init;
    super('RATE_LIMITED', message, { statusCode: 429, ...retryAfterHeader(retryAfter), ...options });
    this.retryAfter = retryAfter;
    this.reason = reason;
  }
}

/** Input could not be decoded; a transport answers 400 (or INVALID_ARGUMENT). */
export class DecodeError extends KittsError {
  /** The failing paths and what was expected there, when a schema said so. */
  readonly issues: readonly { path: string; message: string }[];

  constructor(
    message = 'bad request',
    init: { issues?: readonly { path: string; message: string }[] } & KittsErrorOptions = {},
  ) {
    const { issues = [], ...options } = init;
    super('DECODE', message, { statusCode: 400, ...options });
    this.issues = issues;
  }
}

function retryAfterHeader(ms: number): KittsErrorOptions {
  return ms > 0 ? { headers: { 'retry-after': String(Math.ceil(ms / 1000)) } } : {};
}

/** The error's HTTP-style status code, or `fallback` (500) when it has none. */
export function statusCodeOf(err: unknown, fallback = 500): number {
  if (typeof err === 'object' && err !== null) {
    const code = (err as { statusCode?: unknown }).statusCode;
    if (typeof code === 'number' && Number.isInteger(code) && code >= 100 && code <= 599) return code;
  }
  return fallback;
}

/** Headers the error asks a transport to send, or undefined. */
export function headersOf(err: unknown): Headers | undefined {
  if (typeof err === 'object' && err !== null) {
    const h = (err as { headers?: unknown }).headers;
    if (typeof h === 'object' && h !== null) return h as Headers;
  }
  return undefined;
}

/** The error's stable code (`KittsError.code` or Node's `err.code`), if any. */
export function codeOf(err: unknown): string | undefined {
  if (typeof err === 'object' && err !== null) {
    const c = (err as { code?: unknown }).code;
    if (typeof c === 'string') return c;
  }
  return undefined;
}

function messageOf(err: unknown): string {
  if (err instanceof Error) return err.message;
  return String(err);
}
