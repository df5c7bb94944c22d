import { codeOf } from '@kitts/endpoint';

/**
 * How a call ended: `business_error` is a Failer response whose failed() is set (the
 * call worked, the answer is "no"); `rejected` is a call a breaker or limiter refused.
 */
export type Outcome = 'ok' | 'error' | 'business_error' | 'rejected';

const REJECTIONS: ReadonlySet<string> = new Set(['CIRCUIT_OPEN', 'RATE_LIMITED']);

export function errorOutcome(err: unknown): Outcome {
  const code = codeOf(err);
  return code !== undefined && REJECTIONS.has(code) ? 'rejected' : 'error';
}
