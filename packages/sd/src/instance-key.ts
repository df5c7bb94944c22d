import { key } from '@kitts/endpoint';
import type { Instance } from './types.js';

/**
 * The instance the current attempt is going to. A balancer (or retry, hedge, broadcast)
 * sets it on the context it passes to the chosen entry's endpoint, so middleware placed
 * under the balancer (logging, tracing, metrics) can name the instance without being
 * built per instance: `ctx.value(instanceKey)?.address`.
 */
export const instanceKey = key<Instance>('kitts/sd.instance');
