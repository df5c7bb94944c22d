/**
 * Decoders for untrusted requests. Every way a request can be wrong gets a 4xx that
 * says what was wrong: malformed JSON 400, wrong media type 415, too large 413, a
 * schema failure 400 naming each failing path. None of them can produce a 500.
 */
import type { IncomingMessage } from 'node:http';
import { type Context, DecodeError } from '@kitts/endpoint';
import { DEFAULT_LIMIT, declaredLength, readBody } from './body.js';
import { payloadTooLarge, unsupportedMediaType } from './errors.js';
import { pathParamsKey } from './keys.js';
import { type Infer, type Schema, validator } from './schema.js';

/** Turns a Node request into the endpoint's request; throw (or reject) to answer an error. */
export type DecodeRequestFunc<Req> = (ctx: Context, req: IncomingMessage) => Req | Promise<Req>;

export interface JsonBodyOptions {
  /** Largest body in bytes; more is answered 413 without being buffered. Default 1 MiB. */
  limit?: number;
}

/** Decode a JSON body, checked against `schema` (an io-ts codec or a Standard Schema validator). */
export function jsonBody<S extends Schema<any>>(
  schema: S,
  options?: JsonBodyOptions,
): DecodeRequestFunc<Infer<S>>;
/** Decode a JSON body without checking its shape (the result is `unknown`). */
export function jsonBody(schema?: undefined, options?: JsonBodyOptions): DecodeRequestFunc<unknown>;
export function jsonBody(
  schema?: Schema<unknown>,
  options: JsonBodyOptions = {},
): DecodeRequestFunc<unknown> {
  const limit = options.limit ?? DEFAULT_LIMIT;
  if (!Number.isSafeInteger(limit) || limit < 0) {
    throw new TypeError(`kitts/transport-http: limit must be a non-negative integer, got ${String(limit)}`);
  }
  const validate = schema === undefined ? undefined : validator(schema, 'invalid request body');
  return async (_ctx, req) => {
    checkJSONRequest(req);
    const raw = await readBody(req, limit, payloadTooLarge, declaredLength(req.headers['content-length']));
    const value = parseJSON(raw);
    return validate === undefined ? value : validate(value);
  };
}

/**
 * Decode the query string into an object (a repeated key becomes an array of strings),
 * checked against `schema`. Values are strings: let the schema coerce numbers.
 */
export function query<S extends Schema<any>>(schema: S): DecodeRequestFunc<Infer<S>> {
  const validate = validator(schema, 'invalid query');
  return (_ctx, req) => validate(queryObject(req.url ?? ''));
}

/** Decode the router's path parameters (`/goods/:id`), checked against `schema`. */
export function pathParams<S extends Schema<any>>(schema: S): DecodeRequestFunc<Infer<S>> {
  const validate = validator(schema, 'invalid path parameters');
  return (ctx) => validate(ctx.value(pathParamsKey) ?? {});
}

/** The query string of `url` as an object with no prototype (so `__proto__` is just a key). */
export function queryObject(url: string): Record<string, string | string[]> {
  const out: Record<string, string | string[]> = Object.create(null);
  const q = url.indexOf('?');
  if (q < 0) return out;
  for (const [k, v] of new URLSearchParams(url.slice(q + 1))) {
    const had = out[k];
    if (had === undefined) out[k] = v;
    else if (typeof had === 'string') out[k] = [had, v];
    else had.push(v);
  }
  return out;
}

const JSON_SUFFIX = /^application\/[a-z0-9!#$&^_.-]+\+json$/;

/** 415 unless the request says it carries uncompressed UTF-8 JSON. */
function checkJSONRequest(req: IncomingMessage): void {
  const type = req.headers['content-type'];
  if (type === undefined || type === '') {
    throw unsupportedMediaType('missing content-type; expected application/json');
  }
  const semi = type.indexOf(';');
  const media = (semi < 0 ? type : type.slice(0, semi)).trim().toLowerCase();
  if (media !== 'application/json' && !JSON_SUFFIX.test(media)) {
    throw unsupportedMediaType(
      `unsupported content-type ${JSON.stringify(media)}; expected application/json`,
    );
  }
  if (semi >= 0) {
    const charset = /;\s*charset\s*=\s*"?([^";\s]+)/i.exec(type)?.[1]?.toLowerCase();
    if (charset !== undefined && charset !== 'utf-8' && charset !== 'utf8') {
      throw unsupportedMediaType(`unsupported charset ${JSON.stringify(charset)}; expected utf-8`);
    }
  }
  const encoding = req.headers['content-encoding'];
  if (encoding !== undefined && encoding.toLowerCase() !== 'identity') {
    throw unsupportedMediaType(`unsupported content-encoding ${JSON.stringify(encoding)}`);
  }
}

function parseJSON(raw: Buffer): unknown {
  if (raw.length === 0) throw new DecodeError('malformed JSON: the request body is empty');
  try {
    return JSON.parse(raw.toString('utf8'));
  } catch (err) {
    throw new DecodeError(`malformed JSON: ${(err as Error).message}`);
  }
}
