/**
 * Limit algorithms for `adaptiveLimit`, after Netflix's concurrency-limits. Each learns
 * the safe number of calls in flight from samples; each is stateful, so build one per
 * limiter.
 */

/** One finished call, as the algorithm sees it. */
export interface Sample {
  /** When the call started and ended, by the limiter's clock (ms). */
  readonly start: number;
  readonly end: number;
  /** Calls in flight when it started, itself included. */
  readonly inFlight: number;
  /** It failed in a way that signals overload (a timeout, a 5xx, a 429). */
  readonly dropped: boolean;
}

export interface LimitAlgorithm {
  readonly name: string;
  /** The limit before the first sample. */
  readonly initial: number;
  /** The new limit (fractional values allowed; the limiter admits floor(limit), at least 1). */
  update(limit: number, sample: Sample): number;
}

interface Bounds {
  /** Starting limit. Default 20. */
  initial?: number;
  /** Lowest limit. Default 1. */
  min?: number;
  /** Highest limit. Default 1000. */
  max?: number;
}

export interface AimdOptions extends Bounds {
  /** Multiplier applied on a drop. Default 0.9. */
  backoffRatio?: number;
  /** A success slower than this (ms) counts as a drop too. Default: none. */
  slowRtt?: number;
}

/**
 * Additive increase, multiplicative decrease, as TCP's congestion avoidance: +1 per round
 * trip (1/limit for each success that found the limit at least half used), ×backoffRatio
 * on a drop. As TCP, it backs off once per round trip: drops of calls that started before
 * the last decrease do not decrease it again, so one burst of timeouts does not collapse
 * the limit to the floor.
 */
export function aimd(options: AimdOptions = {}): LimitAlgorithm {
  const { initial, min, max } = bounds('aimd', options);
  const backoffRatio = options.backoffRatio ?? 0.9;
  if (typeof backoffRatio !== 'number' || !(backoffRatio > 0 && backoffRatio < 1)) {
    throw new RangeError(`aimd: backoffRatio must be in (0, 1), got ${String(backoffRatio)}`);
  }
  const slowRtt = options.slowRtt ?? Number.POSITIVE_INFINITY;
  if (typeof slowRtt !== 'number' || !(slowRtt > 0)) {
    throw new RangeError(`aimd: slowRtt must be a positive number of ms, got ${String(slowRtt)}`);
  }
  let lastDecrease = Number.NEGATIVE_INFINITY;
  return {
    name: 'aimd',
    initial,
    update(limit, s) {
      if (s.dropped || s.end - s.start > slowRtt) {
        if (s.start < lastDecrease) return limit;
        lastDecrease = s.end;
        return Math.max(min, Math.floor(limit * backoffRatio));
      }
      if (s.inFlight * 2 >= limit) return Math.min(max, limit + 1 / limit);
      return limit;
    },
  };
}

export interface GradientOptions extends Bounds {
  /** Weight of each new estimate, 0-1. Default 0.2. */
  smoothing?: number;
  /** How much the latency may exceed its long-run average before the limit shrinks. Default 1.5. */
  tolerance?: number;
  /** Samples in the long-run latency average. Default 600. */
  longWindow?: number;
  /** Headroom added to each estimate, so the limit can probe upwards. Default 4. */
  queueSize?: number;
}

/**
 * Netflix's Gradient2: compares each call's latency with a long-run average. While
 * latency stays within `tolerance` of it the limit grows by the headroom; when queueing
 * inflates latency the limit shrinks in proportion (at most by half per sample). A drop
 * shrinks it by 10%, as Vegas does.
 */
export function gradient(options: GradientOptions = {}): LimitAlgorithm {
  const { initial, min, max } = bounds('gradient', options);
  const smoothing = options.smoothing ?? 0.2;
  const tolerance = options.tolerance ?? 1.5;
  const longWindow = options.longWindow ?? 600;
  const queueSize = options.queueSize ?? 4;
  if (!(smoothing > 0 && smoothing <= 1))
    throw new RangeError(`gradient: smoothing must be in (0, 1], got ${smoothing}`);
  if (!(tolerance >= 1)) throw new RangeError(`gradient: tolerance must be at least 1, got ${tolerance}`);
  if (!Number.isSafeInteger(longWindow) || longWindow < 1) {
    throw new RangeError(`gradient: longWindow must be a positive integer, got ${longWindow}`);
  }
  if (!(queueSize >= 0)) throw new RangeError(`gradient: queueSize must be non-negative, got ${queueSize}`);
  const warmup = Math.min(10, longWindow);
  const factor = 2 / (longWindow + 1);
  let longRtt = 0;
  let count = 0;
  return {
    name: 'gradient',
    initial,
    update(limit, s) {
      if (s.dropped) return Math.max(min, limit * 0.9);
      const rtt = Math.max(s.end - s.start, 1e-3);
      // A plain mean while warming up, then an exponential average.
      count++;
      longRtt = count <= warmup ? longRtt + (rtt - longRtt) / count : longRtt * (1 - factor) + rtt * factor;
      // After a long overload the average lags high; pull it down faster than the EWMA would.
      if (longRtt / rtt > 2) longRtt *= 0.95;
      // Application-limited: no evidence either way.
      if (s.inFlight < limit / 2) return limit;
      const g = Math.max(0.5, Math.min(1, (tolerance * longRtt) / rtt));
      const estimate = limit * g + queueSize;
      return Math.max(min, Math.min(max, limit * (1 - smoothing) + estimate * smoothing));
    },
  };
}

function bounds(what: string, o: Bounds): Required<Bounds> {
  const min = o.min ?? 1;
  const max = o.max ?? 1000;
  const initial = o.initial ?? Math.min(max, Math.max(min, 20));
  for (const [k, v] of [
    ['min', min],
    ['max', max],
    ['initial', initial],
  ] as const) {
    if (typeof v !== 'number' || !Number.isFinite(v) || v < 1) {
      throw new RangeError(`${what}: ${k} must be a number >= 1, got ${String(v)}`);
    }
  }
  if (min > max) throw new RangeError(`${what}: min (${min}) must not exceed max (${max})`);
  if (initial < min || initial > max) {
    throw new RangeError(`${what}: initial (${initial}) must lie between min (${min}) and max (${max})`);
  }
  return { initial, min, max };
}
