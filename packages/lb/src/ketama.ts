import { hash as cryptoHash } from 'node:crypto';
import type { Entry } from '@kitts/sd';
import { MAX_RING_OWNERS, makeRing, pack, type Ring } from './ring.js';

/**
 * libketama's continuum (ketama.c, ketama_create_continuum), point for point. Each
 * server (here `instance.address`) gets floorf(pct * 40 * nservers) MD5 digests of
 * "<address>-<k>", and each digest gives four points, its 32-bit little-endian words.
 * pct is weight / total weight computed in single precision, and the product is
 * rounded to single precision before floorf, as the C code does: at equal weights that
 * is 40 digests, 160 points, per server.
 */
export function ketamaRing<Req, Res>(entries: readonly Entry<Req, Res>[], weights: Float64Array): Ring {
  if (entries.length >= MAX_RING_OWNERS) throw new RangeError('kitts/lb: too many entries for a ring');
  const n = entries.length;
  let total = 0;
  for (const w of weights) total += w;
  const ftotal = Math.fround(total);
  const counts = new Uint32Array(n);
  let all = 0;
  for (let i = 0; i < n; i++) {
    const pct = Math.fround(Math.fround(weights[i]!) / ftotal);
    counts[i] = Math.floor(Math.fround(pct * 40.0 * n));
    all += counts[i]! * 4;
  }
  const packed = new Float64Array(all);
  let p = 0;
  for (let i = 0; i < n; i++) {
    const address = entries[i]!.instance.address;
    for (let k = 0; k < counts[i]!; k++) {
      const digest = cryptoHash('md5', `${address}-${k}`, 'buffer');
      for (let h = 0; h < 4; h++) packed[p++] = pack(digest.readUInt32LE(h * 4), i);
    }
  }
  return makeRing(packed);
}
