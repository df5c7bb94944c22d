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
import { keyInto, md5LE32, out, type StringHash, stringInto } from './hash.js';
import { ketamaRing } from './ketama.js';
import { MAX_RING_OWNERS, makeRing, pack, type Ring, ringIndex } from './ring.js';
import { weightsOf } from './weights.js';

export interface RingHashOptions<Req> {
  /** The request's key: a string is hashed, an integer or bigint is taken as its hash. */
  key: KeyFunction<Req>;
  /** Points per unit of weight (default 160): an instance of weight 2 gets 320. */
  vnodes?: number;
  /**
   * Hash of strings (keys and "<address>_<n>" point names) to a 64-bit value, of which
   * the ring keeps the low 32 bits. Default xxHash64 with seed 0.
   */
  hash?: StringHash;
  /**
   * 'ketama': libketama's continuum and key hash (MD5), so that keys land on the same
   * server as with other languages' ketama clients. Servers are named by
   * `instance.address`; weights act as libketama's memory weights.
   */
  preset?: 'ketama';
}

/** Above this many points in all, points per instance are scaled down (Envoy's maximum ring size). */
const MAX_POINTS = 8_388_608;

interface State<Req, Res> extends Ring {
  entries: readonly Entry<Req, Res>[];
}

class RingHash<Req, Res> implements Balancer<Req, Res> {
  private readonly derived: Derived<Req, Res, State<Req, Res>>;
  constructor(
    source: EndpointSource<Req, Res>,
    private readonly key: KeyFunction<Req>,
    private readonly vnodes: number,
    private readonly hash: StringHash | undefined,
    private readonly ketama: boolean,
  ) {
    this.derived = new Derived(source, (entries) => this.build(entries));
  }

  private build(entries: readonly Entry<Req, Res>[]): State<Req, Res> {
    const weights = weightsOf(entries);
    const ring = this.ketama ? ketamaRing(entries, weights) : this.pointsRing(entries, weights);
    return { entries, ...ring };
  }

  private pointsRing(entries: readonly Entry<Req, Res>[], weights: Float64Array): Ring {
    if (entries.length >= MAX_RING_OWNERS) throw new RangeError('kitts/lb: too many entries for a ring');
    let want = 0;
    for (const w of weights) want += this.vnodes * w;
    const scale = want > MAX_POINTS ? MAX_POINTS / want : 1;
    const counts = weights.map((w) => (w > 0 ? Math.max(1, Math.round(this.vnodes * w * scale)) : 0));
    let all = 0;
    for (const c of counts) all += c;
    const packed = new Float64Array(all);
    let p = 0;
    for (let i = 0; i < entries.length; i++) {
      const address = entries[i]!.instance.address;
      for (let k = 0; k < counts[i]!; k++) {
        // Envoy names ring points "<address>_<n>".
        stringInto(`${address}_${k}`, this.hash);
        packed[p++] = pack(out[0]!, i);
      }
    }
    return makeRing(packed);
  }

  pick(ctx: Context, request: Req, avoid?: ReadonlySet<string>): Entry<Req, Res> {
    const s = this.derived.get();
    const k = this.key(ctx, request);
    let h: number;
    if (this.ketama && typeof k === 'string') h = md5LE32(k);
    else {
      keyInto(k, this.hash);
      h = out[0]!;
    }
    const at = ringIndex(s, h);
    const e = s.entries[s.owners[at]!]!;
    // An unusable owner hands over to the next point clockwise.
    return usable(e, avoid) ? e : probe(s.entries, s.owners, at, avoid);
  }
}

/**
 * Consistent hashing on a ring of virtual nodes, weighted: removing an instance moves
 * only the keys it owned. With `preset: 'ketama'` the ring is libketama's continuum.
 */
export function ringHash<Req, Res>(
  endpointer: EndpointSource<Req, Res>,
  options: RingHashOptions<Req>,
): Balancer<Req, Res> {
  checkSource(endpointer, 'ringHash');
  const { key, vnodes, hash, preset } = options ?? ({} as RingHashOptions<Req>);
  if (typeof key !== 'function') throw new TypeError('kitts/lb: ringHash needs a key(ctx, request) function');
  if (preset !== undefined && preset !== 'ketama') {
    throw new TypeError(
      `kitts/lb: unknown ringHash preset ${JSON.stringify(preset)}; the one preset is 'ketama'`,
    );
  }
  if (preset === 'ketama' && (vnodes !== undefined || hash !== undefined)) {
    throw new TypeError('kitts/lb: the ketama preset fixes vnodes and hash; do not pass them with it');
  }
  if (vnodes !== undefined && !(Number.isInteger(vnodes) && vnodes > 0)) {
    throw new TypeError(`kitts/lb: ringHash vnodes must be a positive integer, got ${vnodes}`);
  }
  if (hash !== undefined && typeof hash !== 'function')
    throw new TypeError('kitts/lb: ringHash hash must be a function');
  return new RingHash(endpointer, key, vnodes ?? 160, hash, preset === 'ketama');
}
