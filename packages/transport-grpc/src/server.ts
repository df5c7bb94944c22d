/**
 * An Endpoint as a grpc-js unary method handler, as go-kit's grpc.NewServer: decode the
 * message, call the endpoint, encode the answer, with metadata hooks around it. The call's
 * deadline becomes the context's deadline and a cancelled call aborts `ctx.signal`.
 */
import {
  type handleUnaryCall,
  Metadata,
  type ServerUnaryCall,
  type ServerWritableStream,
  status as Status,
  type sendUnaryData,
} from '@grpc/grpc-js';
import {
  background,
  businessError,
  type CancelFunc,
  type Context,
  type Endpoint,
  type Logger,
  withCancel,
  withTimeout,
} from '@kitts/endpoint';
import { addErrorHeaders, type StatusAnswer, statusOf } from './status.js';

export type DecodeRequestFunc<GReq, Req> = (ctx: Context, message: GReq) => Req | Promise<Req>;
export type EncodeResponseFunc<Res, GRes> = (ctx: Context, response: Res) => GRes | Promise<GRes>;

/** The call a before-hook sees: for peer address, path, auth context. */
export type ServerCall = ServerUnaryCall<unknown, unknown> | ServerWritableStream<unknown, unknown>;

/** Runs before decoding, with the request metadata; may return a new context (go-kit's ServerBefore). */
export type ServerRequestFunc = (ctx: Context, metadata: Metadata, call: ServerCall) => Context | void;

export interface ServerResponseInfo {
  /** Response headers; sent before the answer. */
  readonly header: Metadata;
  /** Trailers; sent with the status. */
  readonly trailer: Metadata;
  /** The failure, when the call failed (after-hooks run on failure too). */
  readonly error: unknown;
}

/** Runs after the endpoint, on success and on failure (go-kit's ServerAfter, which skipped failures). */
export type ServerResponseFunc = (ctx: Context, info: ServerResponseInfo) => Context | void;

export interface ServerFinalizerInfo {
  readonly code: Status;
  readonly error: unknown;
}

export interface ServerOptions {
  before?: ServerRequestFunc | readonly ServerRequestFunc[];
  after?: ServerResponseFunc | readonly ServerResponseFunc[];
  /** Called once per call after the status was handed to grpc-js. */
  finalizer?: (ctx: Context, info: ServerFinalizerInfo) => void;
  /** Sees every failure, for logging (go-kit's ErrorHandler); does not change the answer. */
  errorHandler?: (ctx: Context, err: unknown) => void;
  /** Replaces the default error table (`statusOf`). */
  errorEncoder?: (ctx: Context, err: unknown) => StatusAnswer;
  /** Send the messages of UNKNOWN/INTERNAL/DATA_LOSS errors to clients (default false). */
  exposeInternalErrors?: boolean;
  /** The parent of every call's context (values shared by all calls). Default `background()`. */
  context?: Context;
  /** Where a hook that throws from the finalizer or error handler is reported. Silent by default. */
  logger?: Logger;
}

const list = <T>(x: T | readonly T[] | undefined): readonly T[] =>
  x === undefined ? [] : Array.isArray(x) ? (x as readonly T[]) : [x as T];

/** Deadline of the call in epoch ms, or undefined (grpc-js says Infinity). */
export function callDeadline(call: { getDeadline(): Date | number }): number | undefined {
  const d = call.getDeadline();
  const ms = typeof d === 'number' ? d : d.getTime();
  return Number.isFinite(ms) ? ms : undefined;
}

/** What callContext needs of a grpc-js server call (unary or streaming). */
export interface CancellableCall {
  getDeadline(): Date | number;
  readonly cancelled: boolean;
  on(event: 'cancelled', listener: () => void): unknown;
}

/**
 * A client cancels at its deadline and the server's deadline (the same instant, carried
 * as grpc-timeout) fires a moment later, so a cancel arriving this close to the deadline
 * is the deadline: the context is left to end by it and reports DeadlineExceededError.
 */
const DEADLINE_SLACK_MS = 20;

/**
 * The context of one call: the call's deadline (on the parent's clock), cancelled when
 * the client cancels.
 */
export function callContext(parent: Context, call: CancellableCall): [Context, CancelFunc] {
  const wall = callDeadline(call);
  const [ctx, cancel] = wall === undefined ? withCancel(parent) : withTimeout(parent, wall - Date.now());
  if (call.cancelled) cancel();
  // The listener is never removed: the call object dies with it, and a late 'cancelled'
  // finds the context already done.
  call.on('cancelled', () => {
    if (ctx.err() !== undefined) return;
    const d = ctx.deadline;
    if (d !== undefined && d - ctx.now() <= DEADLINE_SLACK_MS) return;
    cancel();
  });
  return [ctx, cancel];
}

const isPromise = (x: unknown): x is PromiseLike<unknown> =>
  typeof x === 'object' && x !== null && typeof (x as { then?: unknown }).then === 'function';

/**
 * A grpc-js `handleUnaryCall` serving `endpoint`: drop it into
 * `server.addService(def, { Method: createUnaryHandler(endpoint, decode, encode) })`.
 */
export function createUnaryHandler<GReq, GRes, Req, Res>(
  endpoint: Endpoint<Req, Res>,
  decode: DecodeRequestFunc<GReq, Req>,
  encode: EncodeResponseFunc<Res, GRes>,
  options: ServerOptions = {},
): handleUnaryCall<GReq, GRes> {
  if (typeof endpoint !== 'function')
    throw new TypeError('kitts: createUnaryHandler needs an endpoint function');
  if (typeof decode !== 'function' || typeof encode !== 'function') {
    throw new TypeError('kitts: createUnaryHandler needs decode and encode functions');
  }
  const before = list(options.before);
  const after = list(options.after);
  const { finalizer, errorHandler, errorEncoder, exposeInternalErrors = false, logger } = options;
  const base = options.context ?? background();

  const report = (what: string, err: unknown) => logger?.error(`kitts/grpc: ${what} threw`, err);

  async function serve(call: ServerUnaryCall<GReq, GRes>, callback: sendUnaryData<GRes>): Promise<void> {
    const untyped = call as unknown as ServerUnaryCall<unknown, unknown>;
    let [ctx, cancel] = callContext(base, call);
    let error: unknown;
    let failed = false;
    let answer: GRes | undefined;
    try {
      for (let i = 0; i < before.length; i++) ctx = before[i]!(ctx, call.metadata, untyped) ?? ctx;
      // Synchronous decoders and encoders are not awaited: each await is a turn of the queue.
      const decoded = decode(ctx, call.request);
      const request = isPromise(decoded) ? await decoded : decoded;
      const response = await endpoint(ctx, request);
      const business = businessError(response);
      if (business !== undefined) throw business;
      const encoded = encode(ctx, response);
      answer = isPromise(encoded) ? await encoded : encoded;
    } catch (e) {
      error = e;
      failed = true;
    }

    let trailer: Metadata | undefined;
    if (after.length > 0) {
      const header = new Metadata();
      trailer = new Metadata();
      try {
        for (let i = 0; i < after.length; i++) ctx = after[i]!(ctx, { header, trailer, error }) ?? ctx;
      } catch (e) {
        if (!failed) {
          error = e;
          failed = true;
        }
      }
      call.sendMetadata(header);
    }

    let code: Status = Status.OK;
    try {
      if (!failed) {
        callback(null, answer, trailer);
      } else {
        code = answerFailure(ctx, error, trailer, callback);
      }
      if (finalizer !== undefined) finalizer(ctx, { code, error });
    } catch (e) {
      report('finalizer or grpc-js callback', e);
    } finally {
      cancel();
    }
  }

  function answerFailure(
    ctx: Context,
    error: unknown,
    trailer: Metadata | undefined,
    callback: sendUnaryData<GRes>,
  ): Status {
    if (errorHandler !== undefined) {
      try {
        errorHandler(ctx, error);
      } catch (e) {
        report('errorHandler', e);
      }
    }
    let s: StatusAnswer;
    try {
      s = errorEncoder !== undefined ? errorEncoder(ctx, error) : statusOf(error, exposeInternalErrors);
    } catch (e) {
      report('errorEncoder', e);
      s = statusOf(error, exposeInternalErrors);
    }
    const metadata = addErrorHeaders(error, mergeMetadata(trailer, s.metadata));
    callback({ code: s.code, details: s.details, metadata: metadata ?? new Metadata() });
    return s.code;
  }

  const onBug = (e: unknown) => report('handler', e);
  return (call, callback) => {
    serve(call, callback).catch(onBug);
  };
}

function mergeMetadata(a: Metadata | undefined, b: Metadata | undefined): Metadata | undefined {
  if (b === undefined) return a;
  if (a === undefined) return b;
  a.merge(b);
  return a;
}
