/**
 * Malformed HTTP/1.1 requests, generated from a seed, as raw bytes: bodies, headers,
 * content types, methods, paths, oversized and truncated messages, and bytes that are
 * not HTTP at all. Raw, because a well-behaved client (undici, node:http) refuses to
 * send most of them. Every case targets the soak instance's routes (POST /items with a
 * JSON body, GET /items/:key, GET /search?q=).
 */
import { below, pick } from '../rng.js';

export type HttpCategory =
  | 'body'
  | 'headers'
  | 'content-type'
  | 'method'
  | 'path'
  | 'oversized'
  | 'truncated'
  | 'not-http';

export const HTTP_CATEGORIES: readonly HttpCategory[] = [
  'body',
  'headers',
  'content-type',
  'method',
  'path',
  'oversized',
  'truncated',
  'not-http',
];

export interface HttpCase {
  category: HttpCategory;
  /** What was done to the request, for the report of a failure. */
  name: string;
  bytes: Buffer;
  /** After writing: wait for the server to close (`wait`), or send FIN (`end`) or RST (`reset`) ourselves. */
  finish: 'wait' | 'end' | 'reset';
}

const CRLF = '\r\n';
/** The body limit the soak instance sets on POST /items. */
export const BODY_LIMIT = 64 * 1024;

function request(
  head: string,
  headers: readonly (readonly [string, string])[],
  body: Buffer | string = '',
  contentLength: boolean | string = true,
): Buffer {
  const b = typeof body === 'string' ? Buffer.from(body, 'utf8') : body;
  const lines = [head, 'Host: 127.0.0.1', ...headers.map(([k, v]) => `${k}: ${v}`)];
  if (contentLength === true) lines.push(`Content-Length: ${b.length}`);
  else if (typeof contentLength === 'string') lines.push(`Content-Length: ${contentLength}`);
  lines.push('Connection: close');
  return Buffer.concat([Buffer.from(lines.join(CRLF) + CRLF + CRLF, 'latin1'), b]);
}

const JSON_TYPE = ['Content-Type', 'application/json'] as const;
const post = (body: Buffer | string, headers: readonly (readonly [string, string])[] = [JSON_TYPE]) =>
  request('POST /items HTTP/1.1', headers, body);

function randomBytes(rng: () => number, n: number): Buffer {
  const b = Buffer.allocUnsafe(n);
  for (let i = 0; i < n; i++) b[i] = below(rng, 256);
  return b;
}

const VALID = '{"key":"k1","n":7}';

function body(rng: () => number): HttpCase {
  const cut = below(rng, VALID.length);
  const variants: [string, () => Buffer | string][] = [
    ['truncated JSON', () => VALID.slice(0, cut)],
    ['JSON with trailing garbage', () => `${VALID}}}garbage`],
    ['random bytes', () => randomBytes(rng, 1 + below(rng, 300))],
    ['invalid UTF-8', () => Buffer.from([0x7b, 0x22, 0xc3, 0x28, 0xff, 0xfe, 0x22, 0x3a, 0x31, 0x7d])],
    ['lone surrogate escape', () => '{"key":"\\ud800","n":1}'],
    ['byte-order mark', () => `\ufeff${VALID}`],
    ['empty body', () => ''],
    ['whitespace only', () => ' \n\t '],
    ['null', () => 'null'],
    ['an array', () => '[1,2,3]'],
    ['wrong types', () => '{"key":1,"n":"seven"}'],
    ['missing field', () => '{"key":"k1"}'],
    [
      'number out of range',
      () => pick(rng, ['{"key":"k","n":1e309}', '{"key":"k","n":-1}', '{"key":"k","n":1.5}']),
    ],
    ['__proto__ key', () => '{"__proto__":{"polluted":true},"key":"k","n":1}'],
    ['constructor.prototype', () => '{"constructor":{"prototype":{"polluted":true}},"key":"k","n":1}'],
    ['duplicate keys', () => '{"key":"a","key":{"x":1},"n":1}'],
    ['deep nesting', () => `${'['.repeat(20_000)}${']'.repeat(20_000)}`],
    ['deeply nested object', () => `${'{"a":'.repeat(5_000)}1${'}'.repeat(5_000)}`],
    ['key too long', () => JSON.stringify({ key: 'x'.repeat(65 + below(rng, 1000)), n: 1 })],
    ['NUL in string', () => '{"key":"a\\u0000b","n":1}'],
    ['huge number literal', () => `{"key":"k","n":${'9'.repeat(5000)}}`],
  ];
  const [name, make] = pick(rng, variants);
  return { category: 'body', name, bytes: post(make()), finish: 'wait' };
}

function headers(rng: () => number): HttpCase {
  const b = Buffer.from(VALID);
  const raw = (lines: string[], payload: Buffer | string = b) =>
    Buffer.concat([
      Buffer.from(['POST /items HTTP/1.1', ...lines].join(CRLF) + CRLF + CRLF, 'latin1'),
      Buffer.from(payload),
    ]);
  const base = ['Host: 127.0.0.1', 'Content-Type: application/json', 'Connection: close'];
  const variants: [string, () => Buffer][] = [
    ['content-length not a number', () => raw([...base, 'Content-Length: abc'])],
    ['negative content-length', () => raw([...base, 'Content-Length: -1'])],
    ['content-length in exponent form', () => raw([...base, 'Content-Length: 1e2'])],
    [
      'two different content-lengths',
      () => raw([...base, `Content-Length: ${b.length}`, 'Content-Length: 3']),
    ],
    [
      'content-length and chunked',
      () =>
        raw(
          [...base, `Content-Length: ${b.length}`, 'Transfer-Encoding: chunked'],
          `${b.length.toString(16)}\r\n${VALID}\r\n0\r\n\r\n`,
        ),
    ],
    ['chunk size not hex', () => raw([...base, 'Transfer-Encoding: chunked'], `zz\r\n${VALID}\r\n0\r\n\r\n`)],
    [
      'chunk size overflow',
      () => raw([...base, 'Transfer-Encoding: chunked'], `ffffffffffffffffffff\r\n${VALID}\r\n0\r\n\r\n`),
    ],
    [
      'unknown transfer-encoding',
      () => raw([...base, 'Transfer-Encoding: gzip, foo', `Content-Length: ${b.length}`]),
    ],
    ['header without colon', () => raw([...base, `Content-Length: ${b.length}`, 'NoColonHere'])],
    ['space in header name', () => raw([...base, `Content-Length: ${b.length}`, 'Bad Name: x'])],
    [
      'control characters in a value',
      () => raw([...base, `Content-Length: ${b.length}`, 'X-Evil: a\x00b\x07c']),
    ],
    ['obsolete line folding', () => raw([...base, `Content-Length: ${b.length}`, 'X-Folded: a', ' b'])],
    [
      'bare LF line endings',
      () =>
        Buffer.from(
          `POST /items HTTP/1.1\nHost: x\nContent-Type: application/json\nContent-Length: ${b.length}\nConnection: close\n\n${VALID}`,
        ),
    ],
    [
      'missing Host',
      () => raw(['Content-Type: application/json', 'Connection: close', `Content-Length: ${b.length}`]),
    ],
    ['two Host headers', () => raw([...base, 'Host: evil.example', `Content-Length: ${b.length}`])],
    [
      '3,000 headers',
      () =>
        raw([
          ...base,
          `Content-Length: ${b.length}`,
          ...Array.from({ length: 3000 }, (_, i) => `X-H${i}: v`),
        ]),
    ],
    [
      'bad deadline header',
      () =>
        raw([
          ...base,
          `Content-Length: ${b.length}`,
          `x-request-timeout-ms: ${pick(rng, ['-5', '1e400', 'NaN', '99999999999999', '0x10', ''])}`,
        ]),
    ],
    [
      'huge request id',
      () => raw([...base, `Content-Length: ${b.length}`, `x-request-id: ${'r'.repeat(8000)}`]),
    ],
    ['expect 100-continue', () => raw([...base, `Content-Length: ${b.length}`, 'Expect: 100-continue'])],
    ['unknown expectation', () => raw([...base, `Content-Length: ${b.length}`, 'Expect: teapot'])],
    [
      'HTTP/1.0 with chunked',
      () =>
        Buffer.from(
          `POST /items HTTP/1.0\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n5\r\n{"a":\r\n0\r\n\r\n`,
        ),
    ],
  ];
  const [name, make] = pick(rng, variants);
  return { category: 'headers', name, bytes: make(), finish: 'wait' };
}

function contentType(rng: () => number): HttpCase {
  const variants: [string, (readonly [string, string])[]][] = [
    ['no content-type', []],
    ['text/plain', [['Content-Type', 'text/plain']]],
    ['application/xml', [['Content-Type', 'application/xml']]],
    ['latin-1 charset', [['Content-Type', 'application/json; charset=latin1']]],
    ['utf-16 charset', [['Content-Type', 'application/json; charset="utf-16"']]],
    ['multipart', [['Content-Type', 'multipart/form-data; boundary=x']]],
    ['a list of types', [['Content-Type', 'application/json, text/html']]],
    ['empty parameters', [['Content-Type', 'application/json;;;']]],
    ['garbage type', [['Content-Type', '\x01\x02/\x7f']]],
    ['+json suffix', [['Content-Type', 'application/vnd.soak+json']]],
    ['gzip encoding', [JSON_TYPE, ['Content-Encoding', 'gzip']]],
    ['deflate encoding', [JSON_TYPE, ['Content-Encoding', 'deflate']]],
    ['unknown encoding', [JSON_TYPE, ['Content-Encoding', 'zz-compress']]],
  ];
  const [name, hs] = pick(rng, variants);
  const payload = name.includes('encoding') ? randomBytes(rng, 40) : VALID;
  return { category: 'content-type', name, bytes: post(payload, hs), finish: 'wait' };
}

function method(rng: () => number): HttpCase {
  const m = pick(rng, [
    'PUT /items',
    'DELETE /items/k1',
    'PATCH /items',
    'OPTIONS /items',
    'TRACE /items',
    'CONNECT 127.0.0.1:80',
    'PROPFIND /items',
    'post /items',
    'FOO /items',
    `${'X'.repeat(1000)} /items`,
    'GE T /items',
    'HEAD /items/k1',
    'GET /items',
    'POST /items/k1',
  ]);
  const withBody = rng() < 0.5;
  return {
    category: 'method',
    name: `${m.slice(0, 20)}${withBody ? ' with a body' : ''}`,
    bytes: request(`${m} HTTP/1.1`, withBody ? [JSON_TYPE] : [], withBody ? VALID : ''),
    finish: 'wait',
  };
}

function path(rng: () => number): HttpCase {
  const p = pick(rng, [
    '/items/../../etc/passwd',
    '/items/%00',
    '/items/%zz',
    '/items/%',
    '//items/k1',
    '/items/',
    `/items/${'a'.repeat(65)}`,
    `/items/${'a'.repeat(10_000)}`,
    '*',
    'http://evil.example/items/k1',
    '/items/k1#fragment',
    '/items/\u00e9t\u00e9',
    '/search',
    '/search?q=',
    '/search?q=x&page=abc',
    '/search?q=x&page=-1',
    '/search?q[]=1',
    '/search?__proto__=1&q=x',
    '/search?constructor=1&q=x',
    `/search?${Array.from({ length: 1000 }, (_, i) => `p${i}=${i}`).join('&')}&q=x`,
    '/search?q=%ff%fe',
    '/nowhere',
    '/items/k1/extra',
  ]);
  // Raw bytes above 0x7f in the request line, as some clients send them.
  const line = Buffer.concat([
    Buffer.from('GET ', 'latin1'),
    Buffer.from(p, 'utf8'),
    Buffer.from(' HTTP/1.1', 'latin1'),
  ]);
  const rest = request('X', []).subarray(1);
  return { category: 'path', name: p.slice(0, 40), bytes: Buffer.concat([line, rest]), finish: 'wait' };
}

function oversized(rng: () => number): HttpCase {
  const big = () => JSON.stringify({ key: 'k', n: 1, pad: 'x'.repeat(BODY_LIMIT + below(rng, 4096)) });
  const variants: [string, () => HttpCase['bytes'], HttpCase['finish']][] = [
    ['body over the limit', () => post(big()), 'wait'],
    [
      'chunked body over the limit',
      () => {
        const data = big();
        return request(
          'POST /items HTTP/1.1',
          [JSON_TYPE, ['Transfer-Encoding', 'chunked']],
          `${data.length.toString(16)}\r\n${data}\r\n0\r\n\r\n`,
          false,
        );
      },
      'wait',
    ],
    [
      '10 GB declared, then a close',
      () => request('POST /items HTTP/1.1', [JSON_TYPE], VALID, '10000000000'),
      'end',
    ],
    ['20 KiB header', () => request('GET /items/k1 HTTP/1.1', [['X-Big', 'h'.repeat(20 * 1024)]]), 'wait'],
    ['20 KiB URL', () => request(`GET /items/${'u'.repeat(20 * 1024)} HTTP/1.1`, []), 'wait'],
    [
      'many cookies',
      () =>
        request(
          'GET /items/k1 HTTP/1.1',
          Array.from({ length: 400 }, (_, i) => ['Cookie', `c${i}=${'v'.repeat(40)}`] as const),
        ),
      'wait',
    ],
  ];
  const [name, make, finish] = pick(rng, variants);
  return { category: 'oversized', name, bytes: make(), finish };
}

function truncated(rng: () => number): HttpCase {
  const whole = post(VALID);
  const variants: [string, () => Buffer][] = [
    ['cut in the request line', () => whole.subarray(0, 1 + below(rng, 15))],
    ['cut in the headers', () => whole.subarray(0, 20 + below(rng, 60))],
    [
      'body shorter than content-length',
      () => Buffer.concat([request('POST /items HTTP/1.1', [JSON_TYPE], '', '100'), Buffer.from(VALID)]),
    ],
    [
      'chunked without the last chunk',
      () =>
        request(
          'POST /items HTTP/1.1',
          [JSON_TYPE, ['Transfer-Encoding', 'chunked']],
          `${VALID.length.toString(16)}\r\n${VALID}\r\n`,
          false,
        ),
    ],
    ['cut at a random byte', () => whole.subarray(0, below(rng, whole.length))],
  ];
  const [name, make] = pick(rng, variants);
  return { category: 'truncated', name, bytes: make(), finish: rng() < 0.5 ? 'end' : 'reset' };
}

function notHttp(rng: () => number): HttpCase {
  const variants: [string, () => Buffer][] = [
    ['random bytes', () => randomBytes(rng, 1 + below(rng, 2000))],
    [
      'a TLS ClientHello',
      () => Buffer.from(`16030100a5010000a10303${'00'.repeat(32)}000020c02bc02fc02cc030`, 'hex'),
    ],
    ['the HTTP/2 preface', () => Buffer.from('PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n', 'latin1')],
    ['HTTP/0.9', () => Buffer.from('GET /items/k1\r\n', 'latin1')],
    [
      'a response instead of a request',
      () => Buffer.from('HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n', 'latin1'),
    ],
    ['empty lines', () => Buffer.from('\r\n'.repeat(5000), 'latin1')],
    [
      'pipelined: valid, garbage, valid',
      () =>
        Buffer.concat([
          request('GET /items/k1 HTTP/1.1', []).subarray(0, -'Connection: close\r\n\r\n'.length),
          Buffer.from('\r\n'),
          randomBytes(rng, 64),
          request('GET /items/k2 HTTP/1.1', []),
        ]),
    ],
  ];
  const [name, make] = pick(rng, variants);
  // HTTP/0.9 and blank lines leave Node waiting for a request line: the client gives up (FIN).
  const finish = name === 'HTTP/0.9' || name === 'empty lines' ? 'end' : 'wait';
  return { category: 'not-http', name, bytes: make(), finish };
}

const makers: Record<HttpCategory, (rng: () => number) => HttpCase> = {
  body,
  headers,
  'content-type': contentType,
  method,
  path,
  oversized,
  truncated,
  'not-http': notHttp,
};

/** Case number `i` of a run: categories take turns, so every category gets its share. */
export function httpCase(rng: () => number, i: number): HttpCase {
  return makers[HTTP_CATEGORIES[i % HTTP_CATEGORIES.length]!](rng);
}
