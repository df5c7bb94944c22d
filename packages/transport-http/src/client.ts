/**
 * A remote HTTP service as an Endpoint, as go-kit's transport/http.Client, on undici:
 * keep-alive connection pools, the context's signal aborts the request, its deadline
 * travels in a header, and a non-2xx answer is an error, not a success.
 */

import type { EventEmitter } from 'node:events';
import type { IncomingHttpHeaders } from 'node:http';
import type { Readable } from 'node:stream';
import { type Context, DecodeError, type Endpoint, KittsError, onDone, timeRemaining } from '@kitts/endpoint';
import { type Dispatcher, getGlobalDispatcher } from 'undici';
import { declaredLength, readBody } from './body.js';
import { ConnectionError, HttpError } from './errors.js';
import { REQUEST_ID_HEADER, requestId, TIMEOUT_HEADER } from './keys.js';
import { type Infer, type Schema, validator } from './schema.js';

/** What an encoder fills in: it may change the method and path (with query) too. */
export interface OutgoingRequest {
  method: Dispatcher.HttpMethod;
  /** Path and query string, e.g. `/goods/42?fields=name`. */
  path: string;
  headers: Record<string, string | string[]>;
  body: string | Uint8Array | Readable | null;
}

/** undici's response: `statusCode`, `headers`, and `body` with `.json()`, `.text()`... */
export type IncomingResponse = Dispatcher.ResponseData<unknown>;

export type EncodeRequestFunc<Req> = (
  ctx: Context,
  request: Req,
  out: OutgoingRequest,
) => void | Promise<void>;
/** Called for 2xx answers only; anything else has already become an HttpError. */
export type DecodeResponseFunc<Res> = (ctx: Context, response: IncomingResponse) => Res | Promise<Res>;
/** Runs after encoding, before sending; may add headers or return a new context. */
export type ClientBeforeFunc = (ctx: Context, out: OutgoingRequest) => Context | void;
/** Runs on every answer, 2xx or not, before decoding. */
export type ClientAfterFunc = (ctx: Context, response: IncomingResponse) => Context | void;
export interface ClientFinalizerInfo {
  /** Undefined when no answer arrived. */
  statusCode: number | undefined;
  headers: IncomingHttpHeaders | undefined;
  error: unknown;
}
export type ClientFinalizerFunc = (ctx: Context, info: ClientFinalizerInfo) => void;

export interface ClientOptions {
  /** An undici Pool, Agent or Client. Default: undici's global dispatcher (a keep-alive Agent). */
  dispatcher?: Dispatcher;
  /** Headers sent with every request (copied, then the encoder and hooks may change them). */
  headers?: Readonly<Record<string, string>>;
  before?: readonly ClientBeforeFunc[];
  after?: readonly ClientAfterFunc[];
  finalizer?: ClientFinalizerFunc;
  /** Header carrying the remaining time budget in ms; `false` sends none. Default `x-request-timeout-ms`. */
  timeoutHeader?: string | false;
  /** Bytes of a non-2xx body kept in the HttpError. Default 64 KiB. */
  errorBodyLimit?: number;
  /** The decoder keeps the body open (it returns a stream); do not discard what it leaves. */
  bufferedStream?: boolean;
}

// Errors that mean the request got no answer from a handler: safe to try elsewhere.
const CONNECTION_CODES = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'EPIPE',
  'ENOTFOUND',
  'EAI_AGAIN',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'ENOENT', // a unix socket that is not there
  'UND_ERR_SOCKET',
  'UND_ERR_CONNECT_TIMEOUT',
  'UND_ERR_CLOSED',
  'UND_ERR_DESTROYED',
]);

const noop = () => {};

export function createClient<Req, Res>(
  method: Dispatcher.HttpMethod,
  target: string | URL,
  encode: EncodeRequestFunc<Req>,
  decode: DecodeResponseFunc<Res>,
  options: ClientOptions = {},
): Endpoint<Req, Res> {
  const url = typeof target === 'string' ? new URL(target) : target;
  if (url.protocol !== 'http:' && url.protocol !== 'https:') {
    throw new TypeError(
      `kitts/transport-http: the target must be an http(s) URL, got ${JSON.stringify(String(target))}`,
    );
  }
  const origin = url.origin;
  const basePath = `${url.pathname}${url.search}`;
  const dispatcher = options.dispatcher ?? getGlobalDispatcher();
  const staticHeaders = options.headers;
  const before = options.before ?? [];
  const after = options.after ?? [];
  const finalizer = options.finalizer;
  const timeoutHeader =
    options.timeoutHeader === false ? undefined : (options.timeoutHeader ?? TIMEOUT_HEADER);
  const errorBodyLimit = options.errorBodyLimit ?? 64 * 1024;
  const buffered = options.bufferedStream === true;

  return async function call(ctx, request) {
    const early = ctx.err();
    if (early !== undefined) throw early;
    const out: OutgoingRequest = {
      method,
      path: basePath,
      headers: staticHeaders === undefined ? {} : { ...staticHeaders },
      body: null,
    };
    let statusCode: number | undefined;
    let headers: IncomingHttpHeaders | undefined;
    let error: unknown;
    let cancel: ContextSignal | undefined;
    try {
      const encoded = encode(ctx, request, out);
      if (encoded !== undefined) await encoded;
      for (let i = 0; i < before.length; i++) ctx = before[i]!(ctx, out) ?? ctx;
      // Carry the id of the request being served, so one id follows a call across services.
      const id = ctx.value(requestId);
      if (id !== undefined && out.headers[REQUEST_ID_HEADER] === undefined)
        out.headers[REQUEST_ID_HEADER] = id;
      if (timeoutHeader !== undefined) {
        const left = timeRemaining(ctx);
        if (left !== undefined) out.headers[timeoutHeader] = String(Math.floor(left));
      }
      cancel = new ContextSignal(ctx);
      let res: IncomingResponse;
      try {
        res = await dispatcher.request({
          origin,
          path: out.path,
          method: out.method,
          headers: out.headers,
          body: out.body,
          signal: cancel as unknown as EventEmitter,
        });
      } catch (err) {
        throw transportFailure(err);
      }
      statusCode = res.statusCode;
      headers = res.headers;
      for (let i = 0; i < after.length; i++) ctx = after[i]!(ctx, res) ?? ctx;
      if (statusCode < 200 || statusCode >= 300) throw await httpError(res, errorBodyLimit);
      try {
        return await decode(ctx, res);
      } finally {
        if (!buffered) discard(res.body);
      }
    } catch (err) {
      // An abort surfaces as whatever undici or the body stream saw; the context knows why.
      error = ctx.err() ?? err;
      throw error;
    } finally {
      cancel?.dispose();
      if (finalizer !== undefined) {
        try {
          finalizer(ctx, { statusCode, headers, error });
        } catch {
          // A finalizer is for observation; its failure must not change the result.
        }
      }
    }
  };
}

/** Encode the request as JSON (`undefined` as `null`) with `content-type: application/json`. */
export function jsonRequest(_ctx: Context, request: unknown, out: OutgoingRequest): void {
  out.headers['content-type'] = 'application/json';
  out.body = JSON.stringify(request === undefined ? null : request);
}

export interface JsonResponseOptions {
  /** Largest body accepted, in bytes. Default 8 MiB. */
  limit?: number;
}

/**
 * Decode a JSON response, checked against `schema` when given. A body that is not JSON
 * or fails the schema is a DecodeError (status 502: the upstream answered badly)
 * naming every failing path. 204 decodes to `undefined` without a schema check.
 */
export function jsonResponse<S extends Schema<any>>(
  schema: S,
  options?: JsonResponseOptions,
): DecodeResponseFunc<Infer<S>>;
export function jsonResponse(schema?: undefined, options?: JsonResponseOptions): DecodeResponseFunc<unknown>;
export function jsonResponse(
  schema?: Schema<unknown>,
  options: JsonResponseOptions = {},
): DecodeResponseFunc<unknown> {
  const limit = options.limit ?? 8 * 1024 * 1024;
  const validate =
    schema === undefined ? undefined : validator(schema, 'invalid response body', { statusCode: 502 });
  return async (_ctx, res) => {
    if (res.statusCode === 204) return undefined;
    const raw = await readBody(
      res.body,
      limit,
      responseTooLarge,
      declaredLength(res.headers['content-length']),
    );
    let value: unknown;
    try {
      value = JSON.parse(raw.toString('utf8'));
    } catch (err) {
      throw new DecodeError(`malformed JSON response: ${(err as Error).message}`, { statusCode: 502 });
    }
    return validate === undefined ? value : validate(value);
  };
}

function responseTooLarge(limit: number): Error {
  return new KittsError('RESPONSE_TOO_LARGE', `response body exceeds the limit of ${limit} bytes`, {
    statusCode: 502,
  });
}

async function httpError(res: IncomingResponse, limit: number): Promise<HttpError> {
  let body: unknown;
  try {
    const raw = await readBody(res.body, limit, responseTooLarge);
    const text = raw.toString('utf8');
    body = text;
    if (/json/i.test(String(res.headers['content-type'] ?? ''))) {
      try {
        body = JSON.parse(text);
      } catch {
        // Keep the text: a broken error body is still worth showing.
      }
    }
  } catch {
    res.body.destroy();
  }
  return new HttpError(res.statusCode, body, res.headers);
}

function transportFailure(err: unknown): unknown {
  const code = (err as { code?: unknown } | null)?.code;
  if (typeof code === 'string' && CONNECTION_CODES.has(code)) {
    return new ConnectionError(`connection failed: ${(err as Error).message || code}`, { cause: err });
  }
  return err;
}

/** Release the connection: read what the decoder left (undici closes it past 128 KiB). */
function discard(body: IncomingResponse['body']): void {
  if (body.readableEnded || body.destroyed) return;
  body.dump().catch(noop);
}

/**
 * What undici needs of a signal (`aborted`, `reason`, `on`/`once`/`removeListener` of 'abort'),
 * fed by onDone(ctx): no AbortController and no EventTarget dispatch per request, which
 * cost microseconds on every call with a deadline. Disposed when the call is over.
 */
class ContextSignal {
  aborted = false;
  reason: unknown;
  private listener: (() => void) | undefined;
  private readonly off: () => boolean;

  constructor(ctx: Context) {
    this.off = onDone(ctx, () => {
      this.aborted = true;
      this.reason = ctx.err();
      const l = this.listener;
      this.listener = undefined;
      l?.();
    });
  }

  once(_event: 'abort', listener: () => void): this {
    this.listener = listener;
    return this;
  }

  // undici checks for `on` to accept an EventEmitter-like signal; it listens with `once`.
  on(event: 'abort', listener: () => void): this {
    return this.once(event, listener);
  }

  removeListener(_event: 'abort', listener: () => void): this {
    if (this.listener === listener) this.listener = undefined;
    return this;
  }

  dispose(): void {
    this.listener = undefined;
    this.off();
  }
}
