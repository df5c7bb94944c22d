/**
 * A hash ring: sorted 32-bit points, each owned by an entry index, and a small index by
 * the top bits of a hash so that a lookup binary-searches a few neighbouring points
 * instead of the whole ring (a 480k-point ring is megabytes: every step of a plain binary
 * search would be a cache miss). Built once per set.
 */
export interface Ring {
  readonly points: Uint32Array;
  readonly owners: Uint32Array;
  /** start[b] = first point >= b << shift, for b in [0, 2^bits]. */
  readonly start: Uint32Array;
  readonly shift: number;
}

const OWNER_BITS = 2 ** 21;

/**
 * Sort (point, owner) pairs. Packing both into one double (point * 2^21 + owner, exact
 * below 2^53) lets a typed-array sort do the work; equal points go to the lower owner.
 */
export function makeRing(packed: Float64Array): Ring {
  packed.sort();
  const n = packed.length;
  const points = new Uint32Array(n);
  const owners = new Uint32Array(n);
  for (let i = 0; i < n; i++) {
    const v = packed[i]!;
    const owner = v % OWNER_BITS;
    owners[i] = owner;
    points[i] = (v - owner) / OWNER_BITS;
  }
  // About 4 points per index bucket, 2^16 buckets at most.
  const bits = Math.min(16, Math.max(1, Math.floor(Math.log2(Math.max(n, 1))) - 2));
  const shift = 32 - bits;
  const start = new Uint32Array((1 << bits) + 1);
  let p = 0;
  for (let b = 0; b <= 1 << bits; b++) {
    const bound = b * 2 ** shift;
    while (p < n && points[p]! < bound) p++;
    start[b] = p;
  }
  return { points, owners, start, shift };
}

export function pack(point: number, owner: number): number {
  return point * OWNER_BITS + owner;
}

export const MAX_RING_OWNERS = OWNER_BITS;

/** Index of the first point >= h, wrapping to 0 past the last: the owner of h's arc. */
export function ringIndex(ring: Ring, h: number): number {
  const { points, start } = ring;
  const b = h >>> ring.shift;
  let lo = start[b]!;
  let hi = start[b + 1]!;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (points[mid]! < h) lo = mid + 1;
    else hi = mid;
  }
  return lo === points.length ? 0 : lo;
}
