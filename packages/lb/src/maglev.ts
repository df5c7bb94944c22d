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
import { isPrime, keyInto, mod64, out, xxh64 } from './hash.js';
import { weightsOf } from './weights.js';

export interface MaglevOptions<Req> {
  /** The request's key: a string is hashed with xxHash64, an integer or bigint is taken as its hash. */
  key: KeyFunction<Req>;
  /** A prime; 65537 by default (the paper's and Envoy's). Larger tables spread weights more finely. */
  tableSize?: number;
}

/** Keeps every intermediate of the lookup below 2^53 (see mod64). */
const MAX_TABLE = 2 ** 26;

interface State<Req, Res> {
  entries: readonly Entry<Req, Res>[];
  /** Slot -> entry index. */
  table: Uint16Array | Uint32Array;
}

class Maglev<Req, Res> implements Balancer<Req, Res> {
  private readonly derived: Derived<Req, Res, State<Req, Res>>;
  constructor(
    source: EndpointSource<Req, Res>,
    private readonly key: KeyFunction<Req>,
    private readonly size: number,
  ) {
    this.derived = new Derived(source, (entries) => this.build(entries));
  }

  private build(entries: readonly Entry<Req, Res>[]): State<Req, Res> {
    return { entries, table: maglevTable(entries, weightsOf(entries), this.size) };
  }

  pick(ctx: Context, request: Req, avoid?: ReadonlySet<string>): Entry<Req, Res> {
    const { entries, table } = this.derived.get();
    keyInto(this.key(ctx, request), undefined);
    const slot = mod64(out[1]!, out[0]!, this.size);
    const e = entries[table[slot]!]!;
    // An unusable owner hands over to the next slot's owner.
    return usable(e, avoid) ? e : probe(entries, table, slot, avoid);
  }
}

/**
 * Envoy's MaglevTable (pseudocode listing 1 of the paper, with Envoy's weights): hosts
 * ordered by their key (`instance.address`), offset = xxHash64(key, 0) mod M and
 * skip = xxHash64(key, 1) mod (M - 1) + 1; weights normalized to their sum; each round a
 * host takes its next free preferred slot when round * weight has reached its target,
 * the target then growing by the largest weight.
 */
export function maglevTable<Req, Res>(
  entries: readonly Entry<Req, Res>[],
  weights: Float64Array,
  size: number,
): Uint16Array | Uint32Array {
  // A host of weight 0 takes no slot (in Envoy's loop it would still take one).
  const order = Array.from({ length: entries.length }, (_, i) => i).filter((i) => weights[i]! > 0);
  const n = order.length;
  const keyOf = (i: number) => entries[i]!.instance.address;
  order.sort((a, b) => compareBytes(keyOf(a), keyOf(b)) || a - b);
  let sum = 0;
  for (const w of weights) sum += w;
  const m = BigInt(size);
  const next = new Int32Array(n); // current preferred slot of each host, in sort order
  const skip = new Int32Array(n);
  const weight = new Float64Array(n);
  const target = new Float64Array(n);
  let max = 0;
  for (let j = 0; j < n; j++) {
    const address = keyOf(order[j]!);
    if (address === '') throw new TypeError('kitts/lb: maglev needs a non-empty instance.address');
    next[j] = Number(xxh64(address, 0n) % m);
    skip[j] = Number((xxh64(address, 1n) % (m - 1n)) + 1n);
    weight[j] = weights[order[j]!]! / sum;
    if (weight[j]! > max) max = weight[j]!;
  }
  const table = entries.length <= 0xffff ? new Uint16Array(size) : new Uint32Array(size);
  const taken = new Uint8Array(size);
  const owner = Int32Array.from(order);
  let filled = 0;
  for (let round = 1; filled < size; round++) {
    for (let j = 0; j < n && filled < size; j++) {
      if (round * weight[j]! < target[j]!) continue;
      target[j] = target[j]! + max;
      const step = skip[j]!;
      let c = next[j]!;
      while (taken[c] === 1) {
        c += step;
        if (c >= size) c -= size;
      }
      taken[c] = 1;
      table[c] = owner[j]!;
      c += step;
      next[j] = c >= size ? c - size : c;
      filled++;
    }
  }
  return table;
}

/** Byte-wise order of the UTF-8 encodings, as std::sort over string_view keys. */
function compareBytes(a: string, b: string): number {
  if (a === b) return 0;
  const x = Buffer.from(a);
  const y = Buffer.from(b);
  return Buffer.compare(x, y);
}

/** Maglev consistent hashing, compatible with Envoy: a key lands where an Envoy sidecar would send it. */
export function maglev<Req, Res>(
  endpointer: EndpointSource<Req, Res>,
  options: MaglevOptions<Req>,
): Balancer<Req, Res> {
  checkSource(endpointer, 'maglev');
  const { key, tableSize = 65537 } = options ?? ({} as MaglevOptions<Req>);
  if (typeof key !== 'function') throw new TypeError('kitts/lb: maglev needs a key(ctx, request) function');
  if (!isPrime(tableSize) || tableSize > MAX_TABLE) {
    throw new TypeError(`kitts/lb: maglev tableSize must be a prime below 2^26, got ${tableSize}`);
  }
  return new Maglev(endpointer, key, tableSize);
}
