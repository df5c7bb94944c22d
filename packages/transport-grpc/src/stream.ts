/**
 * Server streaming in the Endpoint model: an endpoint that returns an AsyncIterable.
 * It fits because the request is still one message and the context still bounds the
 * whole exchange (deadline and cancel cover the stream). Client and bidi streaming do not
 * fit `(ctx, request) => Promise<response>` without inventing a second model, so they are
 * left to grpc-js.
 *
 * What a user must know: middleware wrapping a streaming endpoint sees the stream open,
 * not each item. On the client the endpoint resolves once the server has answered with
 * headers (or its first item); a failure before that rejects the endpoint, so `retry` and
 * breakers see it, while a failure mid-stream surfaces from the iteration.
 */
import {
  type Client,
  type ClientReadableStream,
  type handleServerStreamingCall,
  Metadata,
  type MethodDefinition,
  type ServerWritableStream,
  type ServiceError,
  status as Status,
} from '@grpc/grpc-js';
import { background, type Context, type Endpoint, type Logger, onDone } from '@kitts/endpoint';
import type { ClientRequestFunc, DecodeResponseFunc, EncodeRequestFunc } from './client.js';
import { GrpcError } from './grpc-error.js';
import {
  callContext,
  type DecodeRequestFunc,
  type EncodeResponseFunc,
  type ServerRequestFunc,
} from './server.js';
import { addErrorHeaders, type StatusAnswer, statusOf } from './status.js';

export interface StreamServerOptions {
  /** Runs before decoding; may return a new context. */
  before?: ServerRequestFunc | readonly ServerRequestFunc[];
  /** Runs when the stream is over, on success and failure, to set trailers. */
  after?: (ctx: Context, info: { readonly trailer: Metadata; readonly error: unknown }) => Context | void;
  finalizer?: (ctx: Context, info: { code: Status; error: unknown }) => void;
  errorHandler?: (ctx: Context, err: unknown) => void;
  errorEncoder?: (ctx: Context, err: unknown) => StatusAnswer;
  exposeInternalErrors?: boolean;
  context?: Context;
  logger?: Logger;
}

const list = <T>(x: T | readonly T[] | undefined): readonly T[] =>
  x === undefined ? [] : Array.isArray(x) ? (x as readonly T[]) : [x as T];

/** Resolves when the stream can take more, or the context ends (then the caller stops). */
function drained(call: ServerWritableStream<unknown, unknown>, ctx: Context): Promise<void> {
  return new Promise((resolve) => {
    const signal = ctx.signal;
    const done = () => {
      call.removeListener('drain', done);
      signal.removeEventListener('abort', done);
      resolve();
    };
    call.once('drain', done);
    signal.addEventListener('abort', done, { once: true });
  });
}

/**
 * A grpc-js `handleServerStreamingCall` serving an endpoint that returns an async
 * iterable: each item is encoded and written, respecting flow control; a cancelled call
 * stops the iteration (its `finally` blocks run); an error ends the stream with the
 * status from the same table as unary calls.
 */
export function createServerStreamHandler<GReq, GRes, Req, Res>(
  endpoint: Endpoint<Req, AsyncIterable<Res>>,
  decode: DecodeRequestFunc<GReq, Req>,
  encode: EncodeResponseFunc<Res, GRes>,
  options: StreamServerOptions = {},
): handleServerStreamingCall<GReq, GRes> {
  if (typeof endpoint !== 'function' || typeof decode !== 'function' || typeof encode !== 'function') {
    throw new TypeError('kitts: createServerStreamHandler needs endpoint, decode and encode functions');
  }
  const before = list(options.before);
  const { after, finalizer, errorHandler, errorEncoder, exposeInternalErrors = false, logger } = options;
  const base = options.context ?? background();
  const report = (what: string, err: unknown) => logger?.error(`kitts/grpc: ${what} threw`, err);

  async function serve(call: ServerWritableStream<GReq, GRes>): Promise<void> {
    const untyped = call as unknown as ServerWritableStream<unknown, unknown>;
    let [ctx, cancel] = callContext(base, call);
    let error: unknown;
    let failed = false;
    try {
      for (const b of before) ctx = b(ctx, call.metadata, untyped) ?? ctx;
      const request = await decode(ctx, call.request);
      const items = await endpoint(ctx, request);
      if (typeof items?.[Symbol.asyncIterator] !== 'function') {
        throw new TypeError('kitts: a streaming endpoint must return an AsyncIterable');
      }
      for await (const item of items) {
        if (ctx.err() !== undefined) break; // the client left: `break` runs the iterator's finally
        if (!call.write(await encode(ctx, item))) await drained(untyped, ctx);
      }
      const own = ctx.err();
      if (own !== undefined) throw own;
    } catch (e) {
      error = e;
      failed = true;
    }
    let trailer = new Metadata();
    try {
      if (after !== undefined) ctx = after(ctx, { trailer, error }) ?? ctx;
    } catch (e) {
      report('after', e);
    }
    let code: Status = Status.OK;
    if (!failed) {
      call.end(trailer);
    } else {
      try {
        errorHandler?.(ctx, error);
      } catch (e) {
        report('errorHandler', e);
      }
      let s: StatusAnswer;
      try {
        s = errorEncoder !== undefined ? errorEncoder(ctx, error) : statusOf(error, exposeInternalErrors);
      } catch (e) {
        report('errorEncoder', e);
        s = statusOf(error, exposeInternalErrors);
      }
      code = s.code;
      if (s.metadata !== undefined) trailer.merge(s.metadata);
      trailer = addErrorHeaders(error, trailer) ?? trailer;
      // grpc-js turns an 'error' event into the stream's final status.
      call.emit('error', { code: s.code, details: s.details, metadata: trailer });
    }
    try {
      finalizer?.(ctx, { code, error });
    } catch (e) {
      report('finalizer', e);
    }
    cancel();
  }

  const onBug = (e: unknown) => report('stream handler', e);
  return (call) => {
    serve(call).catch(onBug);
  };
}

export interface StreamClientOptions {
  before?: ClientRequestFunc | readonly ClientRequestFunc[];
  /** Marks the method idempotent for the retry classification of GrpcError. */
  idempotent?: boolean;
}

export type ServerStreamMethod<GReq, GRes> = Pick<
  MethodDefinition<GReq, GRes>,
  'path' | 'requestSerialize' | 'responseDeserialize'
>;

/**
 * An Endpoint calling a server-streaming method: it resolves to an async iterable of the
 * decoded items. Leaving the iteration early (break, return, a throw) cancels the call.
 */
export function createServerStreamClient<GReq, GRes, Req, Res>(
  client: Client,
  method: ServerStreamMethod<GReq, GRes>,
  encode: EncodeRequestFunc<Req, GReq>,
  decode: DecodeResponseFunc<GRes, Res>,
  options: StreamClientOptions = {},
): Endpoint<Req, AsyncIterable<Res>> {
  if (typeof client?.makeServerStreamRequest !== 'function') {
    throw new TypeError('kitts: createServerStreamClient needs a grpc-js Client');
  }
  if (typeof method?.path !== 'string')
    throw new TypeError('kitts: createServerStreamClient needs a method definition');
  const before = list(options.before);
  const { idempotent = false } = options;

  return async (ctx, request) => {
    const early = ctx.err();
    if (early !== undefined) throw early;
    const message = await encode(ctx, request);
    const metadata = new Metadata();
    for (const b of before) ctx = b(ctx, metadata) ?? ctx;
    const d = ctx.deadline;
    const call: ClientReadableStream<GRes> = client.makeServerStreamRequest(
      method.path,
      method.requestSerialize,
      method.responseDeserialize,
      message,
      metadata,
      d === undefined ? {} : { deadline: Date.now() + (d - ctx.now()) },
    );
    const stop = onDone(ctx, () => call.cancel());
    const final = ctx;
    // grpc-js ends the stream, then emits 'error' without destroying it: an iterator made
    // after that would see a clean end. So the error is kept here, and checked at the end
    // (the listener also keeps an unheard 'error' from becoming an uncaught exception).
    let streamError: ServiceError | undefined;
    call.on('error', (e: ServiceError) => {
      streamError ??= e;
    });

    // Open: the first of headers (accepted), the status (ended at once) or an error.
    await new Promise<void>((resolve, reject) => {
      const settle = (err?: ServiceError) => {
        call.removeListener('metadata', ok);
        call.removeListener('error', fail);
        call.removeListener('status', ok);
        if (err === undefined) resolve();
        else {
          stop();
          reject(failure(final, err, idempotent));
        }
      };
      const ok = () => settle();
      const fail = (e: ServiceError) => settle(e);
      call.once('metadata', ok);
      call.once('status', ok);
      call.once('error', fail);
    });

    return (async function* items(): AsyncGenerator<Res> {
      try {
        for await (const m of call as AsyncIterable<GRes>) yield await decode(final, m);
        if (streamError !== undefined) throw streamError;
      } catch (e) {
        throw failure(final, e as ServiceError, idempotent);
      } finally {
        stop();
        call.cancel(); // a no-op once the stream has ended; ends it when the consumer left early
      }
    })();
  };
}

function failure(ctx: Context, err: ServiceError, idempotent: boolean): unknown {
  if (typeof err?.code !== 'number') return err;
  if (err.code === Status.CANCELLED || err.code === Status.DEADLINE_EXCEEDED) {
    const own = ctx.err();
    if (own !== undefined) return own;
  }
  return GrpcError.from(err, idempotent);
}
