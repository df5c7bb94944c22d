/**
 * A small, honest micro-benchmark harness: each case runs in batches, after a warm-up,
 * and the median batch gives ns/op. Cases of one group run interleaved, round after
 * round, so drift of the machine (other load, CPU frequency) hits them all alike.
 * Ratios are reported against the group's first case (the baseline).
 */
export interface Case {
  name: string;
  /** One operation. May return a promise; then the harness awaits each call in turn. */
  fn: () => unknown;
}

export interface Result {
  name: string;
  nsPerOp: number;
  ratio: number;
}

export interface GroupOptions {
  /** Operations per batch. */
  batch?: number;
  /** Rounds; each round runs one batch of every case. */
  rounds?: number;
  warmup?: number;
}

async function runBatch(fn: () => unknown, n: number): Promise<number> {
  const probe = fn();
  const isAsync = probe instanceof Promise;
  if (isAsync) await probe;
  const t0 = process.hrtime.bigint();
  if (isAsync) {
    for (let i = 0; i < n; i++) await fn();
  } else {
    for (let i = 0; i < n; i++) fn();
  }
  return Number(process.hrtime.bigint() - t0) / n;
}

const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)]!;
};

export async function group(title: string, cases: Case[], options: GroupOptions = {}): Promise<Result[]> {
  const { batch = 20_000, rounds = 9, warmup = 2 } = options;
  const samples = cases.map(() => [] as number[]);
  for (let r = 0; r < warmup + rounds; r++) {
    for (let i = 0; i < cases.length; i++) {
      const ns = await runBatch(cases[i]!.fn, batch);
      if (r >= warmup) samples[i]!.push(ns);
    }
  }
  const base = median(samples[0]!);
  const results = cases.map((c, i) => {
    const ns = median(samples[i]!);
    return { name: c.name, nsPerOp: ns, ratio: ns / base };
  });
  print(title, results);
  return results;
}

export function print(title: string, results: Result[]): void {
  console.log(`\n${title}`);
  const w = Math.max(...results.map((r) => r.name.length));
  for (const r of results) {
    console.log(`  ${r.name.padEnd(w)}  ${fmtNs(r.nsPerOp).padStart(10)}/op  ${r.ratio.toFixed(2)}x`);
  }
}

export function fmtNs(ns: number): string {
  if (ns >= 1e6) return `${(ns / 1e6).toFixed(2)} ms`;
  if (ns >= 1e3) return `${(ns / 1e3).toFixed(2)} µs`;
  return `${ns.toFixed(1)} ns`;
}

/** A markdown table of a group, for docs/benchmarks.md. */
export function markdown(results: Result[]): string {
  const rows = results.map((r) => `| ${r.name} | ${fmtNs(r.nsPerOp)} | ${r.ratio.toFixed(2)}x |`);
  return ['| case | per op | ratio |', '| --- | ---: | ---: |', ...rows].join('\n');
}
