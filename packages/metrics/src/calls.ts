/**
 * The call metrics of one registry: a request counter, a latency histogram and an
 * in-flight gauge, shared by every `instrument()` on that registry.
 *
 * Why not call prom-client per request: its `inc`/`observe` hash the label set on every
 * call (a few hundred ns to a µs each on a shared core), four of them per request. So a
 * request only bumps plain numbers in a cell resolved once per endpoint, and the numbers
 * reach prom-client when it is scraped: the counter and gauge through their documented
 * `collect` hook, the histogram through the export it already does for its own data.
 */
import { Counter, Gauge, Histogram, type HistogramConfiguration, type Registry } from 'prom-client';
import type { Outcome } from './outcome.js';

/** Seconds. Finer at the low end than prom-client's default: service calls are often < 5 ms. */
export const DEFAULT_BUCKETS: readonly number[] = Object.freeze([
  0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10,
]);

type Labels = Record<string, string>;

/** Requests that ended one way, with one code. */
interface CountCell {
  readonly labels: Labels;
  /** Counted since the last scrape. */
  pending: number;
}

/** Latencies of requests that ended one way. */
export class LatencyCell {
  /** counts[i] = observations in bucket i (not cumulative); the last slot is +Inf. */
  readonly counts: Float64Array;
  sum = 0;
  count = 0;
  constructor(
    readonly labels: Labels,
    private readonly bounds: readonly number[],
  ) {
    this.counts = new Float64Array(bounds.length + 1);
  }
  observe(seconds: number): void {
    const b = this.bounds;
    let i = 0;
    while (i < b.length && seconds > b[i]!) i++;
    this.counts[i]!++;
    this.sum += seconds;
    this.count++;
  }
  reset(): void {
    this.counts.fill(0);
    this.sum = 0;
    this.count = 0;
  }
}

/** Everything one endpoint (with its constant labels) records, resolved once. */
export class Series {
  inFlight = 0;
  readonly ok: CountCell;
  readonly okLatency: LatencyCell;
  private readonly cells = new Map<string, CountCell>();
  private readonly latencies = new Map<Outcome, LatencyCell>();

  constructor(
    private readonly owner: CallMetrics,
    readonly labels: Labels,
  ) {
    this.ok = this.cell('ok', '');
    this.okLatency = this.latency('ok');
  }

  /** The cell of an outcome and code; created on first use, then a Map lookup. */
  cell(outcome: Outcome, code: string): CountCell {
    const k = `${outcome}\u0000${code}`;
    let c = this.cells.get(k);
    if (c === undefined) {
      c = { labels: { ...this.labels, outcome, code }, pending: 0 };
      this.cells.set(k, c);
      this.owner.countCells.push(c);
    }
    return c;
  }

  latency(outcome: Outcome): LatencyCell {
    let l = this.latencies.get(outcome);
    if (l === undefined) {
      l = new LatencyCell({ ...this.labels, outcome }, this.owner.buckets);
      this.latencies.set(outcome, l);
      this.owner.latencyCells.push(l);
    }
    return l;
  }
}

interface PromStringExport {
  values: unknown[];
}

// The method prom-client's Registry formats a histogram from; its get() derives from it
// too, so extending this one method serves the text and the JSON exports alike.
const baseExport = (
  Histogram.prototype as unknown as {
    getForPromString?: (this: Histogram<string>) => Promise<PromStringExport>;
  }
).getForPromString;

/** A prom-client Histogram whose export also carries the cells kitts fills. */
class CellHistogram extends Histogram<string> {
  readonly cells: LatencyCell[] = [];
  private readonly bounds: readonly number[];
  private readonly metricName: string;

  constructor(config: HistogramConfiguration<string> & { buckets: number[] }) {
    super(config);
    this.bounds = config.buckets;
    this.metricName = config.name;
  }

  async getForPromString(): Promise<PromStringExport> {
    const data = await baseExport!.call(this);
    const bounds = this.bounds;
    const name = this.metricName;
    const bucket = `${name}_bucket`;
    for (const cell of this.cells) {
      let acc = 0;
      for (let i = 0; i < bounds.length; i++) {
        acc += cell.counts[i]!;
        data.values.push({
          labels: { le: bounds[i] },
          sharedLabels: cell.labels,
          value: acc,
          metricName: bucket,
        });
      }
      data.values.push(
        { labels: { le: '+Inf' }, sharedLabels: cell.labels, value: cell.count, metricName: bucket },
        { labels: {}, sharedLabels: cell.labels, value: cell.sum, metricName: `${name}_sum` },
        { labels: {}, sharedLabels: cell.labels, value: cell.count, metricName: `${name}_count` },
      );
    }
    return data;
  }

  override reset(): void {
    super.reset();
    // prom-client's constructor calls reset() before the fields of this class exist.
    const cells: LatencyCell[] | undefined = this.cells;
    if (cells !== undefined) for (const cell of cells) cell.reset();
  }
}

/** A prom-client Counter that drops the counts not yet scraped when it is reset. */
class CellCounter extends Counter<string> {
  cells: CountCell[] | undefined;
  override reset(): void {
    super.reset();
    if (this.cells !== undefined) for (const c of this.cells) c.pending = 0;
  }
}

export class CallMetrics {
  readonly countCells: CountCell[] = [];
  readonly latencyCells: LatencyCell[];
  readonly requests: Counter<string>;
  readonly duration: Histogram<string>;
  readonly inFlight: Gauge<string>;
  private readonly series = new Map<string, Series>();

  constructor(
    registry: Registry,
    prefix: string,
    readonly constNames: readonly string[],
    readonly buckets: readonly number[],
  ) {
    if (typeof baseExport !== 'function') {
      throw new Error(
        'kitts/metrics: this prom-client has no Histogram#getForPromString; use prom-client 15',
      );
    }
    const cells = this.countCells;
    const all = this.series;
    const requests = new CellCounter({
      name: `${prefix}requests_total`,
      help: 'Calls through kitts endpoints, by endpoint, outcome (ok, error, business_error, rejected) and error code.',
      labelNames: ['endpoint', ...constNames, 'outcome', 'code'],
      registers: [registry],
      collect(this: Counter<string>) {
        for (const c of cells) {
          if (c.pending === 0) continue;
          this.inc(c.labels, c.pending);
          c.pending = 0;
        }
      },
    });
    requests.cells = cells;
    this.requests = requests;
    const histogram = new CellHistogram({
      name: `${prefix}request_duration_seconds`,
      help: 'Latency of calls through kitts endpoints, by endpoint and outcome.',
      labelNames: ['endpoint', ...constNames, 'outcome'],
      buckets: [...buckets],
      registers: [registry],
    });
    this.latencyCells = histogram.cells;
    this.duration = histogram;
    this.inFlight = new Gauge({
      name: `${prefix}requests_in_flight`,
      help: 'Calls through kitts endpoints that have started and not yet ended.',
      labelNames: ['endpoint', ...constNames],
      registers: [registry],
      collect(this: Gauge<string>) {
        for (const s of all.values()) this.set(s.labels, s.inFlight);
      },
    });
  }

  seriesFor(endpoint: string, constLabels: Labels): Series {
    const labels: Labels = { endpoint };
    for (const n of this.constNames) labels[n] = constLabels[n]!;
    const k = JSON.stringify(labels);
    let s = this.series.get(k);
    if (s === undefined) {
      s = new Series(this, labels);
      this.series.set(k, s);
    }
    return s;
  }
}
