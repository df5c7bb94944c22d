/**
 * An Endpoint served over HTTP, as go-kit's transport/http.Server: decode, call, encode,
 * with hooks around it, as a plain Node `(req, res)` listener that node:http, Express,
 * Connect and Fastify (raw request/response) can all mount.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import {
  background,
  type CancelFunc,
  type Context,
  DecodeError,
  type Endpoint,
  statusCodeOf,
  withCancel,
  withDeadline,
  withValue,
} from '@kitts/endpoint';
import type { DecodeRequestFunc } from './decode.js';
import {
  defaultErrorEncoder,
  type EncodeResponseFunc,
  type ErrorEncoder,
  errorBody,
  jsonErrorEncoder,
  writeJSONError,
} from './encode.js';
import { pathParamsKey, populateRequestContext, TIMEOUT_HEADER } from './keys.js';

/** A Node request listener; `params` are path parameters when a router calls it. */
export type HttpHandler = (req: IncomingMessage, res: ServerResponse, params?: unknown) => void;

/** Runs before decoding; may return a new context (go-kit's ServerBefore). */
export type ServerBeforeFunc = (ctx: Context, req: IncomingMessage) => Context | void;
/**
 * Runs after the endpoint, before the response or the error is written; `err` is set
 * when decoding or the endpoint failed (go-kit skipped its after hooks then: issue 985).
 */
export type ServerAfterFunc = (ctx: Context, res: ServerResponse, err: unknown) => Context | void;

export interface FinalizerInfo {
  /** The status sent, or 499 when the client left before anything was sent. */
  statusCode: number;
  /** Body bytes written. */
  size: number;
  /** The error that was answered, if any. */
  error: unknown;
}
/** Runs last, once per request, whatever happened (go-kit's ServerFinalizer). */
export type ServerFinalizerFunc = (ctx: Context, info: FinalizerInfo, req: IncomingMessage) => void;
/** Sees every error, for logging; it does not answer. */
export type ErrorHandler = (ctx: Context, err: unknown) => void;

export interface HandlerOptions {
  before?: readonly ServerBeforeFunc[];
  after?: readonly ServerAfterFunc[];
  finalizer?: ServerFinalizerFunc;
  /** Writes errors; the default writes `{ "error": { "code", "message" } }` JSON. */
  errorEncoder?: ErrorEncoder;
  errorHandler?: ErrorHandler;
  /** Let the default error encoder send the messages of 5xx errors. Default false. */
  exposeErrors?: boolean;
  /** The parent of every request context; inject `background({ now })` in tests. */
  context?: Context;
  /** Header read as the caller's deadline in ms; `false` ignores it. Default `x-request-timeout-ms`. */
  timeoutHeader?: string | false;
  /** Put method, path, headers, remote address and request id in the context. Default true. */
  populate?: boolean;
}

const CANCEL = Symbol('kitts.cancel');
const SIZE = Symbol('kitts.size');
const WRITE = Symbol('kitts.write');
const END = Symbol('kitts.end');

type WriteFn = (chunk: unknown, a?: unknown, b?: unknown) => boolean;
type EndFn = (chunk?: unknown, a?: unknown, b?: unknown) => ServerResponse;
interface Tracked extends ServerResponse {
  [CANCEL]?: CancelFunc;
  [SIZE]?: number;
  [WRITE]?: WriteFn;
  [END]?: EndFn;
}

// setTimeout cannot wait longer than this; a larger budget means "no deadline" in practice.
const MAX_TIMEOUT_MS = 2_147_483_647;

export function createHandler<Req, Res>(
  endpoint: Endpoint<Req, Res>,
  decode: DecodeRequestFunc<Req>,
  encode: EncodeResponseFunc<Res>,
  options: HandlerOptions = {},
): HttpHandler {
  const before = options.before ?? [];
  const after = options.after ?? [];
  const { finalizer, errorHandler } = options;
  const errorEncoder =
    options.errorEncoder ??
    (options.exposeErrors === true ? jsonErrorEncoder({ exposeErrors: true }) : defaultErrorEncoder);
  const root = options.context ?? background();
  const timeoutHeader =
    options.timeoutHeader === false ? undefined : (options.timeoutHeader ?? TIMEOUT_HEADER).toLowerCase();
  const populate = options.populate !== false;

  async function serve(req: IncomingMessage, res: Tracked, params: unknown): Promise<void> {
    const ms = timeoutHeader === undefined ? undefined : timeoutOf(req.headers[timeoutHeader]);
    const [base, cancel] = ms === undefined ? withCancel(root) : withDeadline(root, root.now() + ms);
    // One shared listener reads the cancel from the response: no closure per request.
    res[CANCEL] = cancel;
    res.on('close', cancelOnClose);
    if (finalizer !== undefined) countBytes(res);
    let ctx = base;
    if (typeof params === 'object' && params !== null)
      ctx = withValue(ctx, pathParamsKey, params as Record<string, string>);
    if (populate) ctx = populateRequestContext(ctx, req);

    let failed = false;
    let error: unknown;
    let response: Res | undefined;
    try {
      for (let i = 0; i < before.length; i++) ctx = before[i]!(ctx, req) ?? ctx;
      let request: Req;
      try {
        request = await decode(ctx, req);
      } catch (err) {
        throw asDecodeFailure(err);
      }
      response = await endpoint(ctx, request);
    } catch (err) {
      failed = true;
      error = err;
    }
    for (let i = 0; i < after.length; i++) {
      try {
        ctx = after[i]!(ctx, res, error) ?? ctx;
      } catch (err) {
        if (!failed) {
          failed = true;
          error = err;
        }
      }
    }
    if (!failed) {
      try {
        await encode(ctx, res, response as Res);
      } catch (err) {
        failed = true;
        error = err;
      }
    }
    if (failed) answerError(ctx, error, res);
    if (finalizer !== undefined) {
      try {
        finalizer(
          ctx,
          { statusCode: res.headersSent ? res.statusCode : 499, size: res[SIZE] ?? 0, error },
          req,
        );
      } catch (err) {
        report(ctx, err);
      }
    }
  }

  function answerError(ctx: Context, err: unknown, res: ServerResponse): void {
    report(ctx, err);
    if (res.headersSent) {
      // Too late for an error status (go-kit 954/1010): cut the response short so the
      // client sees a failure instead of a truncated body that looks complete.
      if (!res.writableEnded) res.destroy();
      return;
    }
    if (res.destroyed || res.socket?.destroyed === true) return; // the client left: nobody to answer
    try {
      errorEncoder(ctx, err, res);
    } catch (encodeErr) {
      report(ctx, encodeErr);
      try {
        if (!res.headersSent) writeJSONError(res, 500, errorBody(encodeErr, 500));
        else if (!res.writableEnded) res.destroy();
      } catch {
        res.destroy(); // the last resort: the process must not crash over one response
      }
    }
  }

  function report(ctx: Context, err: unknown): void {
    if (errorHandler === undefined) return;
    try {
      errorHandler(ctx, err);
    } catch {
      // A logger that throws must not take the response down with it.
    }
  }

  return function handle(req, res, third) {
    // Express and Connect pass `next` third and keep route parameters on req.params.
    const params = typeof third === 'object' && third !== null ? third : (req as { params?: unknown }).params;
    void serve(req, res, params);
  };
}

/** A decoder failure is the request's fault (400) unless the error says otherwise. */
function asDecodeFailure(err: unknown): unknown {
  if (statusCodeOf(err, 0) !== 0) return err;
  return new DecodeError(err instanceof Error ? err.message : 'bad request', { cause: err });
}

function timeoutOf(value: string | string[] | undefined): number | undefined {
  if (typeof value !== 'string' || value === '') return undefined;
  const ms = Number(value);
  return ms >= 0 && ms <= MAX_TIMEOUT_MS ? ms : undefined; // NaN fails both tests
}

function cancelOnClose(this: Tracked): void {
  const cancel = this[CANCEL];
  this[CANCEL] = undefined;
  cancel?.();
}

/** Count body bytes for the finalizer by shadowing write/end on this response only. */
function countBytes(res: Tracked): void {
  res[SIZE] = 0;
  res[WRITE] = res.write as WriteFn;
  res[END] = res.end as EndFn;
  res.write = countingWrite as ServerResponse['write'];
  res.end = countingEnd as ServerResponse['end'];
}

function countingWrite(this: Tracked, chunk: unknown, a?: unknown, b?: unknown): boolean {
  this[SIZE]! += byteLength(chunk, a);
  return this[WRITE]!.call(this, chunk, a, b);
}

function countingEnd(this: Tracked, chunk?: unknown, a?: unknown, b?: unknown): ServerResponse {
  this[SIZE]! += byteLength(chunk, a);
  return this[END]!.call(this, chunk, a, b);
}

function byteLength(chunk: unknown, encoding: unknown): number {
  if (typeof chunk === 'string') {
    return Buffer.byteLength(chunk, typeof encoding === 'string' ? (encoding as BufferEncoding) : 'utf8');
  }
  if (chunk instanceof Uint8Array) return chunk.byteLength;
  return 0;
}
