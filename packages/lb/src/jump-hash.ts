import type { Context } from '@kitts/endpoint';
import type { Entry } from '@kitts/sd';
import {
  type Balancer,
  checkSource,
  Derived,
  type EndpointSource,
  type KeyFunction,
  probe,
  usable,
} from './balancer.js';
import { keyInto, out } from './hash.js';

export interface JumpHashOptions<Req> {
  /** The request's key: a string is hashed with xxHash64, an integer or bigint is the 64-bit key itself. */
  key: KeyFunction<Req>;
}

// 2862933555777941757, the paper's LCG multiplier, as 32-bit halves.
const MUL_HI = 0x27bb2ee6;
const MUL_LO = 0x87b0b0fd;

/**
 * Lamping and Veach's jump consistent hash of the 64-bit key (hi, lo) over `buckets`
 * buckets, as the paper's C++ (and Guava's consistentHash): the LCG step runs on two
 * 32-bit halves so that no BigInt is allocated.
 */
export function jumpBucket(hi: number, lo: number, buckets: number): number {
  let b = -1;
  let j = 0;
  while (j < buckets) {
    b = j;
    // key = key * 2862933555777941757 + 1 (mod 2^64), in 16-bit limbs for the low product.
    const a0 = lo & 0xffff;
    const a1 = lo >>> 16;
    const p00 = a0 * (MUL_LO & 0xffff);
    const p01 = a0 * (MUL_LO >>> 16);
    const p10 = a1 * (MUL_LO & 0xffff);
    const p11 = a1 * (MUL_LO >>> 16);
    const mid = (p00 >>> 16) + (p01 & 0xffff) + (p10 & 0xffff);
    const newLo = (((mid & 0xffff) << 16) | (p00 & 0xffff)) >>> 0;
    let newHi =
      (p11 + (p01 >>> 16) + (p10 >>> 16) + (mid >>> 16) + Math.imul(lo, MUL_HI) + Math.imul(hi, MUL_LO)) >>>
      0;
    lo = newLo + 1;
    if (lo === 0x1_0000_0000) {
      lo = 0;
      newHi = (newHi + 1) >>> 0;
    }
    hi = newHi;
    // j = (b + 1) * (2^31 / ((key >> 33) + 1)); key >> 33 is hi >>> 1.
    j = Math.floor((b + 1) * (2147483648 / ((hi >>> 1) + 1)));
  }
  return b;
}

class JumpHash<Req, Res> implements Balancer<Req, Res> {
  private readonly derived: Derived<Req, Res, readonly Entry<Req, Res>[]>;
  constructor(
    source: EndpointSource<Req, Res>,
    private readonly key: KeyFunction<Req>,
  ) {
    this.derived = new Derived(source, (entries) => this.build(entries));
  }

  private build(entries: readonly Entry<Req, Res>[]): readonly Entry<Req, Res>[] {
    return entries;
  }

  pick(ctx: Context, request: Req, avoid?: ReadonlySet<string>): Entry<Req, Res> {
    const entries = this.derived.get();
    keyInto(this.key(ctx, request), undefined);
    const b = jumpBucket(out[1]!, out[0]!, entries.length);
    const e = entries[b]!;
    // An unusable bucket hands over to the next bucket.
    return usable(e, avoid) ? e : probe(entries, undefined, b, avoid);
  }
}

/**
 * Jump consistent hash: bucket i is the i-th entry in the set's order (sorted by
 * instance id). Growing from N to N+1 entries moves about 1/(N+1) of the keys, all to the
 * new last bucket; removing any but the last entry renumbers the ones after it. It suits
 * numbered shards (ids "shard-00", "shard-01"...), not arbitrary membership: use ringHash
 * or maglev for that. Weights are ignored.
 */
export function jumpHash<Req, Res>(
  endpointer: EndpointSource<Req, Res>,
  options: JumpHashOptions<Req>,
): Balancer<Req, Res> {
  checkSource(endpointer, 'jumpHash');
  const key = options?.key;
  if (typeof key !== 'function') throw new TypeError('kitts/lb: jumpHash needs a key(ctx, request) function');
  return new JumpHash(endpointer, key);
}
