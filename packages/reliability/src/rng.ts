/** A seeded PRNG (mulberry32): the same seed gives the same run, so a failing case can be replayed. */
export function makeRng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** An integer in [0, n). */
export const below = (rng: () => number, n: number): number => Math.floor(rng() * n);

/** One element of a non-empty list. */
export const pick = <T>(rng: () => number, list: readonly T[]): T => list[below(rng, list.length)]!;
