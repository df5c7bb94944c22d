/**
 * A hash ring: sorted 32-bit points, each owned by an entry index. Built once per set.
 */
export interface Ring {
  readonly points: Uint32Array;
  readonly owners: Uint32Array;
}

const OWNER_BITS = 2 ** 21;

/**
 * Sort (point, owner) pairs. Packing both into one double (point * 2^21 + owner, exact
 * below 2^53) lets a typed-array sort do the work; equal points go to the lower owner.
 */
export function makeRing(packed: Float64Array): Ring {
  packed.sort();
  const points = new Uint32Array(packed.length);
  const owners = new Uint32Array(packed.length);
  for (let i = 0; i < packed.length; i++) {
    const v = packed[i]!;
    const owner = v % OWNER_BITS;
    owners[i] = owner;
    points[i] = (v - owner) / OWNER_BITS;
  }
  return { points, owners };
}

export function pack(point: number, owner: number): number {
  return point * OWNER_BITS + owner;
}

export const MAX_RING_OWNERS = OWNER_BITS;

/** Index of the first point >= h, wrapping to 0 past the last: the owner of h's arc. */
export function ringIndex(points: Uint32Array, h: number): number {
  let lo = 0;
  let hi = points.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (points[mid]! < h) lo = mid + 1;
    else hi = mid;
  }
  return lo === points.length ? 0 : lo;
}
