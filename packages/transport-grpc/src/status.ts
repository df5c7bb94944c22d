/**
 * The one table that turns an error into a gRPC status (server side) and a gRPC status
 * into its HTTP equivalent (client side, so HTTP-minded middleware reads `statusCode`).
 */
import { Metadata, status as Status } from '@grpc/grpc-js';
import { codeOf, headersOf } from '@kitts/endpoint';

export { Status };

/** What a handler answers for a failed call. */
export interface StatusAnswer {
  code: Status;
  details: string;
  metadata?: Metadata;
}

const names: readonly string[] = Object.entries(Status)
  .filter(([, v]) => typeof v === 'number')
  .sort(([, a], [, b]) => (a as number) - (b as number))
  .map(([k]) => k);

/** 'UNAVAILABLE' for 14; 'CODE_99' for a code outside the spec. */
export function statusName(code: number): string {
  return names[code] ?? `CODE_${code}`;
}

// The kitts error codes (stable strings, so two copies of @kitts/endpoint agree).
const byKittsCode: Readonly<Record<string, Status>> = {
  DEADLINE_EXCEEDED: Status.DEADLINE_EXCEEDED,
  CANCELED: Status.CANCELLED,
  DECODE: Status.INVALID_ARGUMENT,
  CIRCUIT_OPEN: Status.UNAVAILABLE,
  RATE_LIMITED: Status.RESOURCE_EXHAUSTED,
  NO_ENDPOINTS: Status.UNAVAILABLE,
};

/**
 * An HTTP-style status (go-kit's StatusCoder) to its conventional gRPC code: the inverse of
 * the grpc-gateway mapping, choosing the non-retryable code where it is ambiguous (409).
 */
export function codeFromHttpStatus(statusCode: number): Status {
  switch (statusCode) {
    case 400:
    case 422:
      return Status.INVALID_ARGUMENT;
    case 401:
      return Status.UNAUTHENTICATED;
    case 403:
      return Status.PERMISSION_DENIED;
    case 404:
      return Status.NOT_FOUND;
    case 408:
    case 504:
      return Status.DEADLINE_EXCEEDED;
    case 409:
      return Status.ALREADY_EXISTS;
    case 412:
      return Status.FAILED_PRECONDITION;
    case 416:
      return Status.OUT_OF_RANGE;
    case 429:
      return Status.RESOURCE_EXHAUSTED;
    case 499:
      return Status.CANCELLED;
    case 501:
      return Status.UNIMPLEMENTED;
    case 502:
    case 503:
      return Status.UNAVAILABLE;
  }
  if (statusCode >= 400 && statusCode < 500) return Status.FAILED_PRECONDITION;
  if (statusCode >= 500 && statusCode < 600) return Status.INTERNAL;
  return Status.UNKNOWN;
}

const httpByCode: readonly number[] = [
  200, // OK
  499, // CANCELLED
  500, // UNKNOWN
  400, // INVALID_ARGUMENT
  504, // DEADLINE_EXCEEDED
  404, // NOT_FOUND
  409, // ALREADY_EXISTS
  403, // PERMISSION_DENIED
  429, // RESOURCE_EXHAUSTED
  400, // FAILED_PRECONDITION
  409, // ABORTED
  400, // OUT_OF_RANGE
  501, // UNIMPLEMENTED
  500, // INTERNAL
  503, // UNAVAILABLE
  500, // DATA_LOSS
  401, // UNAUTHENTICATED
];

/** The HTTP equivalent of a gRPC code (grpc-gateway's table); 500 for unknown codes. */
export function httpStatusOf(code: number): number {
  return httpByCode[code] ?? 500;
}

/** Codes whose details may carry internals (stack-ish messages, driver errors). */
function isInternal(code: Status): boolean {
  return code === Status.UNKNOWN || code === Status.INTERNAL || code === Status.DATA_LOSS;
}

function ownStatusCode(err: object): number | undefined {
  const s = (err as { statusCode?: unknown }).statusCode;
  return typeof s === 'number' && Number.isInteger(s) && s >= 100 && s <= 599 ? s : undefined;
}

function grpcCodeOf(err: object): Status | undefined {
  // A GrpcError from a downstream kitts client (or a grpc-js ServiceError) keeps its code.
  const c = (err as { code?: unknown }).code;
  if (typeof c === 'number' && Number.isInteger(c) && c >= 0 && c <= 16) {
    const d = (err as { details?: unknown }).details;
    if (typeof d === 'string' || 'metadata' in err) return c as Status;
  }
  return undefined;
}

/**
 * The gRPC status for an error, by this table (first match wins):
 *
 * | error | code |
 * | --- | --- |
 * | `DeadlineExceededError` | DEADLINE_EXCEEDED |
 * | `CanceledError` | CANCELLED |
 * | `DecodeError` | INVALID_ARGUMENT |
 * | `CircuitOpenError`, `NoEndpointsError` | UNAVAILABLE |
 * | `RateLimitedError` | RESOURCE_EXHAUSTED |
 * | `RetryError` | the status of its `final` error |
 * | `GrpcError` (a downstream gRPC failure) | its own code |
 * | an error with an HTTP `statusCode` | `codeFromHttpStatus(statusCode)` |
 * | anything else | UNKNOWN |
 *
 * Details are the error's message, except for UNKNOWN, INTERNAL and DATA_LOSS, whose
 * details are a fixed text unless `exposeInternal` is set: internals stay on the server.
 */
export function statusOf(err: unknown, exposeInternal = false): StatusAnswer {
  const code = codeFor(err, 0);
  const details = isInternal(code) && !exposeInternal ? 'internal error' : messageOf(err) || statusName(code);
  return { code, details };
}

function codeFor(err: unknown, depth: number): Status {
  if (typeof err !== 'object' || err === null) return Status.UNKNOWN;
  const kitts = codeOf(err);
  if (kitts !== undefined) {
    const mapped = byKittsCode[kitts];
    if (mapped !== undefined) return mapped;
    if (kitts === 'RETRY_EXHAUSTED' && depth < 8)
      return codeFor((err as { final?: unknown }).final, depth + 1);
  }
  const grpc = grpcCodeOf(err);
  if (grpc !== undefined) return grpc;
  const http = ownStatusCode(err);
  if (http !== undefined) return codeFromHttpStatus(http);
  return Status.UNKNOWN;
}

function messageOf(err: unknown): string {
  if (err instanceof Error) {
    const d = (err as { details?: unknown }).details;
    return typeof d === 'string' && d !== '' ? d : err.message;
  }
  return typeof err === 'string' ? err : '';
}

const RESERVED = /^(grpc-|:)|^(content-type|te|user-agent|host)$/;
const VALID_KEY = /^[0-9a-z_.-]+$/;

/**
 * Adds an error's `headers` (go-kit's Headerer: a breaker's `retry-after`...) to trailing
 * metadata. Keys gRPC reserves or cannot carry are skipped rather than failing the answer.
 */
export function addErrorHeaders(err: unknown, metadata: Metadata | undefined): Metadata | undefined {
  const headers = headersOf(err);
  if (headers === undefined) return metadata;
  for (const name of Object.keys(headers)) {
    const key = name.toLowerCase();
    if (!VALID_KEY.test(key) || RESERVED.test(key) || key.endsWith('-bin')) continue;
    const value = headers[name];
    metadata ??= new Metadata();
    for (const v of typeof value === 'string' ? [value] : (value ?? [])) {
      try {
        metadata.add(key, String(v));
      } catch {
        // A value gRPC cannot carry (non-printable): dropped, the status still goes out.
      }
    }
  }
  return metadata;
}
