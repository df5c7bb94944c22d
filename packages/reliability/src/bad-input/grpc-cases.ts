/**
 * Malformed gRPC calls, generated from a seed, as HTTP/2 requests built by hand: bytes
 * that are not protobuf, wrong wire types, values the schema refuses, broken
 * length-prefixed framing, bad headers and metadata, oversized messages, and calls
 * reset half way. The target is `soak.Echo/Get` (GetRequest { string key = 1; int32 n = 2; }).
 */
import { ECHO_GET_PATH } from '../echo.js';
import { below, pick } from '../rng.js';

export type GrpcCategory =
  | 'protobuf'
  | 'wire-types'
  | 'values'
  | 'framing'
  | 'headers'
  | 'oversized'
  | 'reset';

export const GRPC_CATEGORIES: readonly GrpcCategory[] = [
  'protobuf',
  'wire-types',
  'values',
  'framing',
  'headers',
  'oversized',
  'reset',
];

export interface GrpcCase {
  category: GrpcCategory;
  name: string;
  headers: Record<string, string>;
  body: Buffer;
  /** End the stream after the body, or reset it half way through. */
  finish: 'end' | 'reset';
}

function varint(n: number | bigint): Buffer {
  let v = BigInt.asUintN(64, BigInt(n));
  const out: number[] = [];
  do {
    let b = Number(v & 0x7fn);
    v >>= 7n;
    if (v !== 0n) b |= 0x80;
    out.push(b);
  } while (v !== 0n);
  return Buffer.from(out);
}

const tag = (field: number, wire: number) => varint((field << 3) | wire);
const str = (field: number, s: string | Buffer) => {
  const b = typeof s === 'string' ? Buffer.from(s, 'utf8') : s;
  return Buffer.concat([tag(field, 2), varint(b.length), b]);
};
const int = (field: number, n: number | bigint) => Buffer.concat([tag(field, 0), varint(n)]);

/** GetRequest { key, n } in protobuf. */
export function getRequest(key: string, n: number): Buffer {
  return Buffer.concat([str(1, key), int(2, n)]);
}

/** One length-prefixed gRPC message (flag 0: not compressed). */
export function frame(message: Buffer, flag = 0, declared = message.length): Buffer {
  const head = Buffer.alloc(5);
  head[0] = flag;
  head.writeUInt32BE(declared >>> 0, 1);
  return Buffer.concat([head, message]);
}

export const GRPC_HEADERS: Readonly<Record<string, string>> = {
  ':method': 'POST',
  ':path': ECHO_GET_PATH,
  'content-type': 'application/grpc',
  te: 'trailers',
};

function randomBytes(rng: () => number, n: number): Buffer {
  const b = Buffer.allocUnsafe(n);
  for (let i = 0; i < n; i++) b[i] = below(rng, 256);
  return b;
}

const call = (
  category: GrpcCategory,
  name: string,
  body: Buffer,
  headers: Record<string, string> = {},
): GrpcCase => ({
  category,
  name,
  headers: { ...GRPC_HEADERS, ...headers },
  body,
  finish: 'end',
});

function protobuf(rng: () => number): GrpcCase {
  const n = 1 + below(rng, 200);
  return call('protobuf', `${n} random bytes`, frame(randomBytes(rng, n)));
}

function wireTypes(rng: () => number): GrpcCase {
  const variants: [string, () => Buffer][] = [
    ['key as a varint', () => Buffer.concat([int(1, 42), int(2, 1)])],
    ['n as a string', () => Buffer.concat([str(1, 'k'), str(2, 'seven')])],
    ['a 10-byte varint overflow', () => Buffer.concat([str(1, 'k'), tag(2, 0), Buffer.alloc(11, 0xff)])],
    ['length beyond the message', () => Buffer.concat([tag(1, 2), varint(1000), Buffer.from('short')])],
    ['field number 0', () => Buffer.concat([varint((0 << 3) | 2), varint(1), Buffer.from('x')])],
    ['a group wire type', () => Buffer.concat([tag(1, 3), tag(1, 4)])],
    ['wire type 7', () => Buffer.concat([tag(1, 7), Buffer.from([1, 2, 3])])],
    ['invalid UTF-8 in key', () => Buffer.concat([str(1, Buffer.from([0xc3, 0x28, 0xff])), int(2, 1)])],
    ['unknown fields only', () => Buffer.concat([str(9, 'x'), int(15, 3), str(1000, 'y')])],
  ];
  const [name, make] = pick(rng, variants);
  return call('wire-types', name, frame(make()));
}

function values(rng: () => number): GrpcCase {
  const variants: [string, () => Buffer][] = [
    ['empty message', () => Buffer.alloc(0)],
    ['empty key', () => getRequest('', 1)],
    ['key too long', () => getRequest('k'.repeat(65 + below(rng, 500)), 1)],
    ['negative n', () => getRequest('k', -1)],
    ['n too large', () => getRequest('k', 2_000_000)],
    ['n at int32 max', () => getRequest('k', 2 ** 31 - 1)],
  ];
  const [name, make] = pick(rng, variants);
  return call('values', name, frame(make()));
}

function framing(rng: () => number): GrpcCase {
  const ok = getRequest('k1', 1);
  const variants: [string, () => Buffer, Record<string, string>?][] = [
    ['declared length longer than the data', () => frame(ok, 0, ok.length + 10)],
    ['declared length 4 GiB', () => frame(ok, 0, 0xffffffff)],
    ['compressed flag without grpc-encoding', () => frame(ok, 1)],
    [
      'gzip flag with bytes that are not gzip',
      () => frame(randomBytes(rng, 30), 1),
      { 'grpc-encoding': 'gzip' },
    ],
    ['flag value 2', () => frame(ok, 2)],
    ['fewer than 5 bytes', () => Buffer.from([0, 0, 0])],
    ['two messages in a unary call', () => Buffer.concat([frame(ok), frame(ok)])],
    ['no message at all', () => Buffer.alloc(0)],
    ['a message and trailing bytes', () => Buffer.concat([frame(ok), Buffer.from([0, 0])])],
  ];
  const [name, make, headers] = pick(rng, variants);
  return call('framing', name, make(), headers);
}

function headers(rng: () => number): GrpcCase {
  const body = frame(getRequest('k1', 1));
  const variants: [string, Record<string, string>][] = [
    ['content-type text/plain', { 'content-type': 'text/plain' }],
    ['content-type application/grpc+json', { 'content-type': 'application/grpc+json' }],
    ['GET instead of POST', { ':method': 'GET' }],
    ['unknown method', { ':path': '/soak.Echo/Nope' }],
    ['unknown service', { ':path': '/no.Such/Thing' }],
    ['path without a method', { ':path': '/soak.Echo' }],
    ['unknown grpc-encoding', { 'grpc-encoding': 'zstd-nope' }],
    ['grpc-timeout not a number', { 'grpc-timeout': 'abcS' }],
    ['grpc-timeout too long', { 'grpc-timeout': '999999999H' }],
    ['grpc-timeout in nanoseconds', { 'grpc-timeout': '1n' }],
    ['grpc-timeout without a unit', { 'grpc-timeout': '100' }],
    ['binary metadata that is not base64', { 'x-data-bin': '!!not base64!!' }],
    ['8 KiB of metadata', { 'x-big': 'm'.repeat(8 * 1024) }],
    ['deadline header of HTTP kitts', { 'x-request-timeout-ms': '-1' }],
  ];
  const [name, hs] = pick(rng, variants);
  return call('headers', name, body, hs);
}

function oversized(rng: () => number): GrpcCase {
  const variants: [string, () => Buffer][] = [
    ['5 MiB message', () => frame(getRequest('k'.repeat(5 * 1024 * 1024), 1))],
    ['4 MiB + 1 declared, 10 bytes sent', () => frame(Buffer.alloc(10), 0, 4 * 1024 * 1024 + 1)],
  ];
  const [name, make] = pick(rng, variants);
  return call('oversized', name, make());
}

function reset(rng: () => number): GrpcCase {
  const ok = frame(getRequest('k1', 1));
  const c = call('reset', 'reset after part of a message', ok.subarray(0, 1 + below(rng, ok.length - 1)));
  return { ...c, finish: 'reset' };
}

const makers: Record<GrpcCategory, (rng: () => number) => GrpcCase> = {
  protobuf,
  'wire-types': wireTypes,
  values,
  framing,
  headers,
  oversized,
  reset,
};

/** Case number `i` of a run: categories take turns. Oversized ones are rarer (they are large). */
export function grpcCase(rng: () => number, i: number): GrpcCase {
  const category = GRPC_CATEGORIES[i % GRPC_CATEGORIES.length]!;
  if (category === 'oversized' && i % (GRPC_CATEGORIES.length * 5) !== GRPC_CATEGORIES.indexOf('oversized')) {
    return makers.values(rng);
  }
  return makers[category](rng);
}
