export type { AdaptiveLimit, AdaptiveLimitOptions } from './adaptive.js';
export { adaptiveLimit, defaultIsDrop } from './adaptive.js';
export type { AimdOptions, GradientOptions, LimitAlgorithm, Sample } from './algorithms.js';
export { aimd, gradient } from './algorithms.js';
export type { ConcurrencyLimit, ConcurrencyLimitOptions } from './concurrency-limit.js';
export { concurrencyLimit } from './concurrency-limit.js';
export { delaying, erroring } from './limiter-middleware.js';
export type { Limiter, TokenBucket, TokenBucketOptions } from './token-bucket.js';
export { tokenBucket } from './token-bucket.js';
