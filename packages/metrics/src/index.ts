export { DEFAULT_BUCKETS } from './calls.js';
export type { ObservableEndpointer, ObserveEndpointerOptions } from './endpointer.js';
export { observeEndpointer } from './endpointer.js';
export { metricsHandler } from './handler.js';
export type { InstrumentOptions } from './instrument.js';
export { instrument } from './instrument.js';
export type { Outcome } from './outcome.js';
