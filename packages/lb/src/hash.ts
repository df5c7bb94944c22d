/**
 * Hashing primitives for the key-based balancers. A 64-bit hash travels as two unsigned
 * 32-bit halves written into `out` (lo at 0, hi at 1), so a pick never allocates a BigInt
 * it does not have to and never boxes a number.
 *
 * xxHash64 comes from xxhash-wasm (a WebAssembly build of the reference C code). Its
 * instance is created once, at import, with a top-level await: that is why this package
 * must be imported, not require()d.
 */
import { hash as cryptoHash } from 'node:crypto';
import xxhash from 'xxhash-wasm';

const xx = await xxhash();
// A BigUint64Array over the same bytes as a Uint32Array splits a bigint without
// allocating (a DataView costs several times more here).
const wide = new BigUint64Array(1);
const halves = new Uint32Array(wide.buffer);
const LO = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1 ? 0 : 1; // platform byte order
const HI = 1 - LO;

/** The halves of the last hash computed: `out[0]` is the low 32 bits, `out[1]` the high. */
export const out = new Float64Array(2);

/** What a key function may return. */
export type HashKey = string | number | bigint;

/** A user-supplied string hash: a 64-bit value as a bigint, or an unsigned integer. */
export type StringHash = (input: string) => bigint | number;

/** xxHash64 of the UTF-8 bytes of `input`, as Envoy's HashUtil::xxHash64. */
export function xxh64(input: string, seed = 0n): bigint {
  return xx.h64(input, seed);
}

function splitBigint(h: bigint): void {
  // Storing reduces modulo 2^64, which also maps negative bigints to two's complement.
  wide[0] = h;
  out[0] = halves[LO]!;
  out[1] = halves[HI]!;
}

function splitNumber(n: number): void {
  if (n >= 0 && n <= Number.MAX_SAFE_INTEGER) {
    out[0] = n % 0x1_0000_0000;
    out[1] = Math.floor(n / 0x1_0000_0000);
  } else {
    splitBigint(BigInt(n));
  }
}

/** The first four bytes of MD5(input), little-endian: libketama's ketama_hashi. */
export function md5LE32(input: string): number {
  return cryptoHash('md5', input, 'buffer').readUInt32LE(0);
}

/**
 * Turn a key into a 64-bit hash in `out`: a string goes through `stringHash` (xxHash64
 * when undefined), an integer or a bigint is taken as an already computed unsigned
 * 64-bit hash.
 */
export function keyInto(key: HashKey, stringHash: StringHash | undefined): void {
  if (typeof key === 'string') {
    if (stringHash === undefined) splitBigint(xx.h64(key, 0n));
    else userHashInto(stringHash(key));
  } else if (typeof key === 'number') {
    if (!Number.isInteger(key)) throw badKey(key);
    splitNumber(key);
  } else if (typeof key === 'bigint') {
    splitBigint(key);
  } else {
    throw badKey(key);
  }
}

function userHashInto(h: bigint | number): void {
  if (typeof h === 'bigint') splitBigint(h);
  else if (Number.isInteger(h)) splitNumber(h);
  else
    throw new TypeError(
      `kitts/lb: the hash function returned ${String(h)}; it must return an integer or a bigint`,
    );
}

/** Hash a string with a user hash or xxHash64 (seed 0) into `out`. */
export function stringInto(input: string, stringHash: StringHash | undefined): void {
  if (stringHash === undefined) splitBigint(xx.h64(input, 0n));
  else userHashInto(stringHash(input));
}

function badKey(key: unknown): TypeError {
  const shown = typeof key === 'number' ? String(key) : typeof key;
  return new TypeError(
    `kitts/lb: key() returned ${shown}; it must return a string, an integer number or a bigint`,
  );
}

/** (hi * 2^32 + lo) mod m, exactly, for m < 2^26 (every operand stays below 2^53). */
export function mod64(hi: number, lo: number, m: number): number {
  return ((((hi % m) * (0x1_0000_0000 % m)) % m) + lo) % m;
}

/** Deterministic primality test for table sizes (trial division; sizes are small). */
export function isPrime(n: number): boolean {
  if (!Number.isInteger(n) || n < 2) return false;
  if (n % 2 === 0) return n === 2;
  for (let d = 3; d * d <= n; d += 2) if (n % d === 0) return false;
  return true;
}
