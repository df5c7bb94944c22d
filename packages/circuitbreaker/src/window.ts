/**
 * Hystrix's rolling count window: `buckets` slots of `window / buckets` ms, with running
 * totals. It rotates lazily from the timestamps it is given: no timer, and each outcome is
 * O(1) however many requests the window holds (rotation touches at most `buckets` slots,
 * and only once per bucket width). After the whole window passed idle every slot is
 * dropped, so nothing stale survives a quiet period (cockatiel's SamplingBreaker kept it).
 */
export class RollingWindow {
  successes = 0;
  failures = 0;
  rejected = 0;

  private readonly s: Float64Array;
  private readonly f: Float64Array;
  private readonly r: Float64Array;
  private readonly width: number;
  /** Absolute number of the newest bucket (floor(t / width)), its slot and when it ends. */
  private head = 0;
  private slot = 0;
  private headEnd = Number.NEGATIVE_INFINITY;

  constructor(
    window: number,
    private readonly buckets: number,
  ) {
    this.width = window / buckets;
    this.s = new Float64Array(buckets);
    this.f = new Float64Array(buckets);
    this.r = new Float64Array(buckets);
  }

  success(now: number): void {
    if (now >= this.headEnd) this.rotate(now);
    this.s[this.slot]!++;
    this.successes++;
  }

  failure(now: number): void {
    if (now >= this.headEnd) this.rotate(now);
    this.f[this.slot]!++;
    this.failures++;
  }

  reject(now: number): void {
    if (now >= this.headEnd) this.rotate(now);
    this.r[this.slot]!++;
    this.rejected++;
  }

  /** Drop what fell out of the window by `now` (for readers: snapshot, trip checks). */
  advance(now: number): void {
    if (now >= this.headEnd) this.rotate(now);
  }

  reset(): void {
    this.s.fill(0);
    this.f.fill(0);
    this.r.fill(0);
    this.successes = this.failures = this.rejected = 0;
  }

  // A clock that steps backwards lands in the current head bucket (now < headEnd): counts
  // are never lost, and the window never rotates the wrong way.
  private rotate(now: number): void {
    const n = Math.floor(now / this.width);
    const steps = n - this.head;
    if (steps >= this.buckets || this.headEnd === Number.NEGATIVE_INFINITY) {
      this.reset();
    } else {
      for (let i = 1; i <= steps; i++) {
        const k = mod(this.head + i, this.buckets);
        this.successes -= this.s[k]!;
        this.failures -= this.f[k]!;
        this.rejected -= this.r[k]!;
        this.s[k] = this.f[k] = this.r[k] = 0;
      }
    }
    this.head = n;
    this.slot = mod(n, this.buckets);
    this.headEnd = (n + 1) * this.width;
  }
}

// Non-negative remainder: a fake clock may start below zero.
function mod(n: number, m: number): number {
  const r = n % m;
  return r < 0 ? r + m : r;
}
