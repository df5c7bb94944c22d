/**
 * A bounded, open-loop load: calls are started at a fixed rate whatever the latency (a
 * closed loop would slow down exactly when things go wrong and hide it), and every call
 * is bounded by its client's deadline, so the calls in flight are bounded too.
 */
import { codeOf } from '@kitts/endpoint';

export interface Sample {
  /** Date.now() when the call started. */
  readonly at: number;
  /** Latency in ms. */
  readonly ms: number;
  readonly ok: boolean;
  /** The instance that answered, when it said. */
  readonly by: string | undefined;
  /** The error's code on failure. */
  readonly code: string | undefined;
}

export interface Load {
  readonly samples: readonly Sample[];
  /** Calls started so far. */
  readonly sent: number;
  readonly inFlight: number;
  /** Stops starting calls and waits for those in flight. */
  stop(): Promise<void>;
}

/** Starts `call` `rate` times a second until stop(); `call` resolves with the answering instance's id. */
export function drive(call: (seq: number) => Promise<string | undefined>, { rate }: { rate: number }): Load {
  if (!(rate > 0 && rate <= 5000))
    throw new RangeError(`reliability: rate must be in (0, 5000], got ${rate}`);
  const samples: Sample[] = [];
  const pending = new Set<Promise<void>>();
  const t0 = performance.now();
  let sent = 0;

  const fire = () => {
    const seq = sent++;
    const at = Date.now();
    const start = performance.now();
    const p = call(seq).then(
      (by) => {
        samples.push({ at, ms: performance.now() - start, ok: true, by, code: undefined });
      },
      (err: unknown) => {
        samples.push({ at, ms: performance.now() - start, ok: false, by: undefined, code: errorCode(err) });
      },
    );
    pending.add(p);
    void p.finally(() => pending.delete(p));
  };
  // A coarse tick that catches up on what is due: timers are late under load, the rate is not.
  const timer = setInterval(() => {
    const due = Math.floor(((performance.now() - t0) * rate) / 1000);
    while (sent < due) fire();
  }, 5);

  return {
    samples,
    get sent() {
      return sent;
    },
    get inFlight() {
      return pending.size;
    },
    async stop() {
      clearInterval(timer);
      await Promise.allSettled([...pending]);
    },
  };
}

function errorCode(err: unknown): string {
  const code = codeOf(err);
  if (code !== undefined) {
    // A RetryError says little by itself: name the last attempt's failure too.
    const final = (err as { final?: unknown }).final;
    const inner = final === undefined ? undefined : codeOf(final);
    return inner === undefined ? String(code) : `${code}(${inner})`;
  }
  return err instanceof Error ? err.name : typeof err;
}

/** Nearest-rank percentile of `values` (0 < p <= 100); NaN for none. */
export function percentile(values: readonly number[], p: number): number {
  if (values.length === 0) return Number.NaN;
  const sorted = [...values].sort((a, b) => a - b);
  const rank = Math.ceil((p / 100) * sorted.length);
  return sorted[Math.min(sorted.length, Math.max(1, rank)) - 1]!;
}

export interface Summary {
  sent: number;
  succeeded: number;
  failed: number;
  p50: number;
  p99: number;
  /** Failures by error code. */
  failures: Record<string, number>;
}

/** Figures for the samples that started in [from, to). */
export function summarize(samples: readonly Sample[], from = -Infinity, to = Infinity): Summary {
  const inRange = samples.filter((s) => s.at >= from && s.at < to);
  const failures: Record<string, number> = {};
  for (const s of inRange) if (!s.ok) failures[s.code!] = (failures[s.code!] ?? 0) + 1;
  const ok = inRange.filter((s) => s.ok).map((s) => s.ms);
  return {
    sent: inRange.length,
    succeeded: ok.length,
    failed: inRange.length - ok.length,
    p50: percentile(ok, 50),
    p99: percentile(ok, 99),
    failures,
  };
}
