import { CanceledError, type Context, DecodeError, statusCodeOf } from '@kitts/endpoint';

/**
 * Where a judged error came from: thrown by the endpoint (`'error'`), or the business
 * error of a `Failer` response that resolved (`'business'`).
 */
export type FailureKind = 'error' | 'business';

/** Decides whether an error counts against the protected service. */
export type FailurePredicate = (err: unknown, ctx: Context, kind: FailureKind) => boolean;

/**
 * The default judgement. go-kit counted every error; that let a burst of bad requests or
 * impatient callers open the circuit on a healthy service. Not counted: a Failer's
 * business error (the service answered "no"), a DecodeError or any 4xx-class error
 * (`statusCode` 400-499: the request was wrong, not the service), and a cancellation by
 * the caller (its context ended with CanceledError). Counted: timeouts, 5xx, connection
 * errors and anything unknown.
 */
export const defaultIsFailure: FailurePredicate = (err, ctx, kind) => {
  if (kind === 'business') return false;
  if (err instanceof CanceledError || err instanceof DecodeError) return false;
  if (ctx.err() instanceof CanceledError) return false;
  const status = statusCodeOf(err, 0);
  return status < 400 || status >= 500;
};
