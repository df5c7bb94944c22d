import type { EndpointSet } from '@kitts/sd';
import { type Registry, register } from 'prom-client';
import { checkName, checkPrefix } from './names.js';
import { gaugeOf } from './shared.js';

/** What observeEndpointer needs of an Endpointer: its current set and its change events. */
export interface ObservableEndpointer {
  // any, not unknown: an Endpointer<Req, Res> of any request and response types fits.
  current(): EndpointSet<any, any>;
  onChange(listener: (set: EndpointSet<any, any>) => void): () => void;
}

export interface ObserveEndpointerOptions {
  /** The `service` label. */
  service: string;
  registry?: Registry;
  prefix?: string;
}

/**
 * Keep `<prefix>sd_instances{service}` equal to the number of instances the Endpointer
 * serves, updated from its onChange events (never polled). Returns a function that
 * stops listening and removes the series.
 */
export function observeEndpointer(
  endpointer: ObservableEndpointer,
  options: ObserveEndpointerOptions,
): () => void {
  if (typeof endpointer?.onChange !== 'function' || typeof endpointer.current !== 'function') {
    throw new TypeError('kitts/metrics: observeEndpointer() needs an Endpointer (current() and onChange())');
  }
  const service = checkName(options?.service, 'service');
  const prefix = checkPrefix(options.prefix ?? 'kitts_');
  const gauge = gaugeOf(
    options.registry ?? register,
    `${prefix}sd_instances`,
    'Instances an Endpointer currently serves, by service.',
    ['service'],
  );
  const labels = { service };
  let initial = 0;
  try {
    initial = endpointer.current().entries.length;
  } catch {
    // current() throws once invalidateOnError has expired: there is nothing to serve.
  }
  gauge.set(labels, initial);
  const stop = endpointer.onChange((set) => gauge.set(labels, set.entries.length));
  let stopped = false;
  return () => {
    if (stopped) return;
    stopped = true;
    stop();
    gauge.remove(labels);
  };
}
