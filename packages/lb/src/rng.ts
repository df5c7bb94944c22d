/** A source of uniform doubles in [0, 1), as Math.random. */
export type Rng = () => number;

/**
 * A seeded generator (sfc32, seeded through splitmix32) so that tests and simulations are
 * reproducible; without a seed, Math.random. Seeds are any number or string.
 */
export function makeRng(seed: number | string | undefined): Rng {
  if (seed === undefined) return Math.random;
  let s = typeof seed === 'number' ? seed >>> 0 || hashSeed(String(seed)) : hashSeed(seed);
  const next = () => {
    // splitmix32: spreads even a small seed over all four words of state.
    s = (s + 0x9e3779b9) | 0;
    let z = s;
    z = Math.imul(z ^ (z >>> 16), 0x85ebca6b);
    z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35);
    return (z ^ (z >>> 16)) >>> 0;
  };
  let a = next();
  let b = next();
  let c = next();
  let d = next();
  return () => {
    const t = (((a + b) | 0) + d) | 0;
    d = (d + 1) | 0;
    a = b ^ (b >>> 9);
    b = (c + (c << 3)) | 0;
    c = (c << 21) | (c >>> 11);
    c = (c + t) | 0;
    return (t >>> 0) / 4294967296;
  };
}

function hashSeed(s: string): number {
  // FNV-1a: a string seed only needs to be spread, not to be strong.
  let h = 0x811c9dc5;
  for (let i = 0; i < s.length; i++) h = Math.imul(h ^ s.charCodeAt(i), 0x01000193);
  return h >>> 0;
}
