/** Consul's durations are Go's: "10s", "1m30s", "500ms", "1.5h". */
export type Duration = string | number;

const UNITS: Record<string, number> = {
  ns: 1e-6,
  us: 1e-3,
  µs: 1e-3,
  ms: 1,
  s: 1000,
  m: 60_000,
  h: 3_600_000,
};
const PART = /(\d+(?:\.\d*)?|\.\d+)(ns|us|µs|ms|s|m|h)/y;

/**
 * Milliseconds in a Go duration string ("1m30s"), or a number taken as milliseconds.
 * Throws a TypeError naming `what` when the value is not a valid non-negative duration.
 */
export function parseDuration(value: Duration, what = 'duration'): number {
  if (typeof value === 'number') {
    if (Number.isFinite(value) && value >= 0) return value;
    throw new TypeError(`kitts/sd-consul: ${what} must be a non-negative number of ms, got ${value}`);
  }
  const s = typeof value === 'string' ? value.trim() : '';
  if (s === '0') return 0;
  let ms = 0;
  let at = 0;
  PART.lastIndex = 0;
  while (at < s.length) {
    PART.lastIndex = at;
    const m = PART.exec(s);
    if (m === null) break;
    ms += Number(m[1]) * UNITS[m[2]!]!;
    at = PART.lastIndex;
  }
  if (s === '' || at !== s.length) {
    throw new TypeError(
      `kitts/sd-consul: ${what} must be a duration such as "10s", "1m30s" or "500ms", got ${JSON.stringify(value)}`,
    );
  }
  return ms;
}

/** A duration as Consul expects it on the wire: strings pass through (validated), numbers become "<n>ms". */
export function toConsulDuration(value: Duration, what: string): string {
  const ms = parseDuration(value, what);
  return typeof value === 'string' ? value.trim() : `${Math.round(ms)}ms`;
}
