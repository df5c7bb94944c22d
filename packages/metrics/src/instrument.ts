import { businessError, type Endpoint } from '@kitts/endpoint';
import { type Registry, register } from 'prom-client';
import { CallMetrics, DEFAULT_BUCKETS } from './calls.js';
import { checkLabels, checkName, checkPrefix } from './names.js';
import { defaultCode, errorOutcome } from './outcome.js';

export interface InstrumentOptions {
  /** The `endpoint` label: what this endpoint does, e.g. `comments.get`. */
  name: string;
  /** prom-client's global `register` by default. */
  registry?: Registry;
  /**
   * Constant labels added to every series of this endpoint (`{ service: 'comments' }`).
   * Every instrument() on one registry and prefix must use the same label names:
   * Prometheus wants one label set per metric name.
   */
  labels?: Readonly<Record<string, string>>;
  /** Metric name prefix; `kitts_` by default (`kitts_requests_total`...). */
  prefix?: string;
  /** Histogram buckets in seconds; fixed by the first instrument() on a registry and prefix. */
  buckets?: readonly number[];
  /** The `code` label of an error or business error. Its stable code, else its class name. */
  code?: (err: unknown) => string;
  /** Clock in milliseconds, for latencies; performance.now by default. Tests inject one. */
  now?: () => number;
}

const byRegistry = new WeakMap<Registry, Map<string, CallMetrics>>();

/**
 * Count, time and gauge the calls through an endpoint:
 * `<prefix>requests_total{endpoint, outcome, code}`,
 * `<prefix>request_duration_seconds{endpoint, outcome}` and
 * `<prefix>requests_in_flight{endpoint}`. Outcomes are `ok`, `error`, `rejected` (a
 * breaker or limiter refused the call) and `business_error` (a Failer response that
 * failed: counted apart, never as an error).
 */
export function instrument(
  options: InstrumentOptions,
): <Req, Res>(next: Endpoint<Req, Res>) => Endpoint<Req, Res> {
  if (typeof options !== 'object' || options === null) {
    throw new TypeError('kitts/metrics: instrument() needs options with at least a name');
  }
  const name = checkName(options.name);
  const registry = options.registry ?? register;
  const prefix = checkPrefix(options.prefix ?? 'kitts_');
  const constLabels = checkLabels(options.labels ?? {}, ['endpoint', 'outcome', 'code', 'le']);
  const metrics = callMetrics(registry, prefix, Object.keys(constLabels).sort(), options.buckets);
  const series = metrics.seriesFor(name, constLabels);
  const now = options.now ?? performance.now.bind(performance);
  const code = options.code ?? defaultCode;
  const ok = series.ok;
  const okLatency = series.okLatency;

  // Generic in Req and Res, so it fits any endpoint and any chain() without type arguments.
  return <Req, Res>(next: Endpoint<Req, Res>): Endpoint<Req, Res> =>
    async (ctx, request) => {
      series.inFlight++;
      const start = now();
      try {
        const response = await next(ctx, request);
        const seconds = (now() - start) / 1000;
        const failed = businessError(response);
        if (failed === undefined) {
          ok.pending++;
          okLatency.observe(seconds);
        } else {
          series.cell('business_error', code(failed)).pending++;
          series.latency('business_error').observe(seconds);
        }
        return response;
      } catch (err) {
        const seconds = (now() - start) / 1000;
        const outcome = errorOutcome(err);
        series.cell(outcome, code(err)).pending++;
        series.latency(outcome).observe(seconds);
        throw err;
      } finally {
        series.inFlight--;
      }
    };
}

function callMetrics(
  registry: Registry,
  prefix: string,
  constNames: readonly string[],
  buckets: readonly number[] | undefined,
): CallMetrics {
  let perPrefix = byRegistry.get(registry);
  if (perPrefix === undefined) {
    perPrefix = new Map();
    byRegistry.set(registry, perPrefix);
  }
  let m = perPrefix.get(prefix);
  // registry.clear() drops our metrics: start over rather than count into the void.
  if (m !== undefined && registry.getSingleMetric(`${prefix}requests_total`) !== m.requests) m = undefined;
  if (m === undefined) {
    const bounds = checkBuckets(buckets ?? DEFAULT_BUCKETS);
    try {
      m = new CallMetrics(registry, prefix, constNames, bounds);
    } catch (err) {
      throw new Error(
        `kitts/metrics: cannot register the ${prefix}requests_* metrics on this registry: ${(err as Error).message}`,
        { cause: err },
      );
    }
    perPrefix.set(prefix, m);
    return m;
  }
  if (m.constNames.join() !== constNames.join()) {
    throw new TypeError(
      `kitts/metrics: labels [${constNames.join(', ')}] differ from [${m.constNames.join(', ')}] used before ` +
        `with prefix "${prefix}" on this registry; Prometheus needs one label set per metric name ` +
        '(use the same label names everywhere, or another prefix or registry)',
    );
  }
  if (buckets !== undefined && checkBuckets(buckets).join() !== m.buckets.join()) {
    throw new TypeError(
      `kitts/metrics: buckets [${buckets.join(', ')}] differ from [${m.buckets.join(', ')}] used before ` +
        `with prefix "${prefix}" on this registry`,
    );
  }
  return m;
}

function checkBuckets(buckets: readonly number[]): number[] {
  if (!Array.isArray(buckets) || buckets.length === 0) {
    throw new TypeError('kitts/metrics: buckets must be a non-empty array of seconds');
  }
  for (let i = 0; i < buckets.length; i++) {
    const b = buckets[i];
    if (typeof b !== 'number' || !Number.isFinite(b) || b <= 0) {
      throw new TypeError(`kitts/metrics: bucket ${String(b)} is not a positive finite number of seconds`);
    }
    if (i > 0 && b <= buckets[i - 1]!) {
      throw new TypeError(`kitts/metrics: buckets must increase; ${b} follows ${buckets[i - 1]}`);
    }
  }
  return [...buckets];
}
