/**
 * The four tiny messages of grpc.health.v1, encoded by hand: a runtime protobuf library
 * (and a .proto file to ship) for one string and one enum would cost more than this.
 * The decoder skips unknown fields, as protobuf requires, so newer peers still parse.
 */
export type ServingStatus = 'UNKNOWN' | 'SERVING' | 'NOT_SERVING' | 'SERVICE_UNKNOWN';

const STATUSES: readonly ServingStatus[] = ['UNKNOWN', 'SERVING', 'NOT_SERVING', 'SERVICE_UNKNOWN'];

export interface HealthCheckRequest {
  service: string;
}

export interface HealthCheckResponse {
  status: ServingStatus;
}

export interface HealthListResponse {
  statuses: Record<string, HealthCheckResponse>;
}

function varint(n: number, out: number[]): void {
  while (n > 0x7f) {
    out.push((n & 0x7f) | 0x80);
    n >>>= 7;
  }
  out.push(n);
}

function lengthDelimited(field: number, bytes: Uint8Array | number[], out: number[]): void {
  out.push((field << 3) | 2);
  varint(bytes.length, out);
  for (const b of bytes) out.push(b);
}

class Reader {
  pos = 0;
  constructor(private readonly buf: Uint8Array) {}
  get done(): boolean {
    return this.pos >= this.buf.length;
  }
  varint(): number {
    let result = 0;
    let shift = 0;
    for (;;) {
      if (this.pos >= this.buf.length) throw new RangeError('truncated varint');
      const b = this.buf[this.pos++]!;
      // Values above 2^31 do not occur in these messages; keep the low bits, as int32 does.
      if (shift < 32) result |= (b & 0x7f) << shift;
      if ((b & 0x80) === 0) return result >>> 0;
      shift += 7;
      if (shift > 63) throw new RangeError('varint too long');
    }
  }
  bytes(): Uint8Array {
    const n = this.varint();
    if (this.pos + n > this.buf.length) throw new RangeError('truncated field');
    const b = this.buf.subarray(this.pos, this.pos + n);
    this.pos += n;
    return b;
  }
  skip(wire: number): void {
    if (wire === 0) this.varint();
    else if (wire === 1) this.pos += 8;
    else if (wire === 2) this.bytes();
    else if (wire === 5) this.pos += 4;
    else throw new RangeError(`unsupported wire type ${wire}`);
    if (this.pos > this.buf.length) throw new RangeError('truncated field');
  }
}

const utf8 = new TextDecoder('utf-8', { fatal: true });

export function encodeRequest(m: HealthCheckRequest): Buffer {
  const out: number[] = [];
  if (m.service !== '') lengthDelimited(1, Buffer.from(m.service, 'utf8'), out);
  return Buffer.from(out);
}

export function decodeRequest(buf: Uint8Array): HealthCheckRequest {
  const r = new Reader(buf);
  let service = '';
  while (!r.done) {
    const tag = r.varint();
    if (tag >>> 3 === 1 && (tag & 7) === 2) service = utf8.decode(r.bytes());
    else r.skip(tag & 7);
  }
  return { service };
}

function responseBytes(m: HealthCheckResponse): number[] {
  const out: number[] = [];
  const n = STATUSES.indexOf(m.status);
  if (n > 0) {
    out.push(0x08);
    varint(n, out);
  }
  return out;
}

export function encodeResponse(m: HealthCheckResponse): Buffer {
  return Buffer.from(responseBytes(m));
}

export function decodeResponse(buf: Uint8Array): HealthCheckResponse {
  const r = new Reader(buf);
  let status: ServingStatus = 'UNKNOWN';
  while (!r.done) {
    const tag = r.varint();
    // An enum value this version does not know reads as UNKNOWN, never as a crash.
    if (tag >>> 3 === 1 && (tag & 7) === 0) status = STATUSES[r.varint()] ?? 'UNKNOWN';
    else r.skip(tag & 7);
  }
  return { status };
}

/** `obj[key] = value` that stays an own property even for a service named `__proto__`. */
export function setOwn<T>(obj: Record<string, T>, key: string, value: T): void {
  Object.defineProperty(obj, key, { value, enumerable: true, writable: true, configurable: true });
}

export function encodeListRequest(): Buffer {
  return Buffer.alloc(0);
}

export function decodeListRequest(_buf: Uint8Array): Record<string, never> {
  return {};
}

/** map<string, HealthCheckResponse> statuses = 1: each entry a message { key = 1; value = 2 }. */
export function encodeListResponse(m: HealthListResponse): Buffer {
  const out: number[] = [];
  for (const [service, response] of Object.entries(m.statuses)) {
    const entry: number[] = [];
    lengthDelimited(1, Buffer.from(service, 'utf8'), entry);
    lengthDelimited(2, responseBytes(response), entry);
    lengthDelimited(1, entry, out);
  }
  return Buffer.from(out);
}

export function decodeListResponse(buf: Uint8Array): HealthListResponse {
  const r = new Reader(buf);
  const statuses: Record<string, HealthCheckResponse> = {};
  while (!r.done) {
    const tag = r.varint();
    if (tag >>> 3 !== 1 || (tag & 7) !== 2) {
      r.skip(tag & 7);
      continue;
    }
    const entry = new Reader(r.bytes());
    let key = '';
    let value: HealthCheckResponse = { status: 'UNKNOWN' };
    while (!entry.done) {
      const t = entry.varint();
      if (t >>> 3 === 1 && (t & 7) === 2) key = utf8.decode(entry.bytes());
      else if (t >>> 3 === 2 && (t & 7) === 2) value = decodeResponse(entry.bytes());
      else entry.skip(t & 7);
    }
    setOwn(statuses, key, value);
  }
  return { statuses };
}
