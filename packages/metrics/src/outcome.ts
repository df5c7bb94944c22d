import { codeOf } from '@kitts/endpoint';

/**
 * How a call ended. `business_error` is a Failer response whose `failed()` is set: the
 * call worked and the answer is "no", so it must not look like a failure on a dashboard.
 * `rejected` is a call a breaker or a limiter refused without running it.
 */
export type Outcome = 'ok' | 'error' | 'business_error' | 'rejected';

// Codes of the errors kitts raises when it refuses a call (see @kitts/endpoint's errors).
const REJECTIONS: ReadonlySet<string> = new Set(['CIRCUIT_OPEN', 'RATE_LIMITED']);

export function errorOutcome(err: unknown): Outcome {
  const code = codeOf(err);
  return code !== undefined && REJECTIONS.has(code) ? 'rejected' : 'error';
}

/**
 * The `code` label of an error: its stable kitts or Node code, else its class name.
 * Never the message: label values must come from a small, fixed set.
 */
export function defaultCode(err: unknown): string {
  const code = codeOf(err);
  if (code !== undefined) return code;
  return err instanceof Error ? err.name : 'UNKNOWN';
}
