// A small reader of the Prometheus text format, so tests assert on what a scraper sees.

export type Samples = Map<string, number>;

/** `name{a="x",b="y"} 3` lines keyed as `name{a="x",b="y"}` with labels sorted; HELP/TYPE skipped. */
export function parse(text: string): Samples {
  const out: Samples = new Map();
  for (const line of text.split('\n')) {
    if (line === '' || line.startsWith('#')) continue;
    const m = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? (\S+)$/.exec(line);
    if (m === null) throw new Error(`not a sample line: ${line}`);
    const labels =
      m[2] === undefined ? [] : [...m[2].matchAll(/([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"/g)];
    const key = sampleKey(m[1]!, Object.fromEntries(labels.map((l) => [l[1]!, l[2]!])));
    out.set(key, Number(m[3]));
  }
  return out;
}

export function sampleKey(name: string, labels: Record<string, string> = {}): string {
  const parts = Object.keys(labels)
    .sort()
    .map((k) => `${k}="${labels[k]}"`);
  return parts.length === 0 ? name : `${name}{${parts.join(',')}}`;
}

export function value(
  samples: Samples,
  name: string,
  labels: Record<string, string> = {},
): number | undefined {
  return samples.get(sampleKey(name, labels));
}
