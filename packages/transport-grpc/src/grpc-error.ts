import { Metadata, type ServiceError, status as Status } from '@grpc/grpc-js';
import { httpStatusOf, statusName } from './status.js';

/**
 * Whether a failed call may be tried again: UNAVAILABLE (nothing was processed) and
 * RESOURCE_EXHAUSTED always; DEADLINE_EXCEEDED and ABORTED only when the method is
 * idempotent, since the server may have done the work. Everything else is an answer.
 */
export function isRetryableCode(code: number, idempotent = false): boolean {
  switch (code) {
    case Status.UNAVAILABLE:
    case Status.RESOURCE_EXHAUSTED:
      return true;
    case Status.DEADLINE_EXCEEDED:
    case Status.ABORTED:
      return idempotent;
    default:
      return false;
  }
}

export interface GrpcErrorInit {
  metadata?: Metadata;
  /** Whether the method was marked idempotent; decides `retryable` for DEADLINE_EXCEEDED/ABORTED. */
  idempotent?: boolean;
  cause?: unknown;
}

/**
 * A call that ended with a non-OK status. `code` is the numeric gRPC status (as grpc-js's
 * ServiceError), `statusCode` its HTTP equivalent, `retryable` the classification above.
 */
export class GrpcError extends Error {
  readonly code: Status;
  readonly details: string;
  readonly metadata: Metadata;
  readonly statusCode: number;
  readonly retryable: boolean;

  constructor(code: Status, details: string, init: GrpcErrorInit = {}) {
    super(`${statusName(code)}: ${details}`, init.cause === undefined ? undefined : { cause: init.cause });
    this.name = 'GrpcError';
    this.code = code;
    this.details = details;
    this.metadata = init.metadata ?? new Metadata();
    this.statusCode = httpStatusOf(code);
    this.retryable = isRetryableCode(code, init.idempotent);
  }

  /** 'UNAVAILABLE', 'NOT_FOUND'... */
  get codeName(): string {
    return statusName(this.code);
  }

  /** The GrpcError for a grpc-js ServiceError (what a client callback receives). */
  static from(err: ServiceError, idempotent = false): GrpcError {
    return new GrpcError(err.code, err.details, { metadata: err.metadata, idempotent, cause: err });
  }
}

/** True for a GrpcError marked retryable; usable as `retry`'s `retryIf` for gRPC endpoints. */
export function isRetryable(err: unknown): boolean {
  return err instanceof GrpcError && err.retryable;
}
