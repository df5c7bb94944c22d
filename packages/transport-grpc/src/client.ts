/**
 * A remote gRPC unary method as an Endpoint, as go-kit's grpc.NewClient: encode the
 * request, call, decode the answer. The context's deadline is the call's deadline and a
 * cancel of the context cancels the call; a non-OK status is a GrpcError.
 */
import {
  type CallOptions,
  type Client,
  type ClientUnaryCall,
  Metadata,
  type MethodDefinition,
  type ServiceClientConstructor,
  type ServiceError,
  status as Status,
} from '@grpc/grpc-js';
import { type Context, type Endpoint, onDone } from '@kitts/endpoint';
import { GrpcError } from './grpc-error.js';
import { statusOf } from './status.js';

export type EncodeRequestFunc<Req, GReq> = (ctx: Context, request: Req) => GReq | Promise<GReq>;
export type DecodeResponseFunc<GRes, Res> = (ctx: Context, message: GRes) => Res | Promise<Res>;

/** Runs before the call with the outgoing metadata; may return a new context (go-kit's ClientBefore). */
export type ClientRequestFunc = (ctx: Context, metadata: Metadata) => Context | void;

/** Runs after a successful call with the response header and trailer; its context reaches `decode`. */
export type ClientResponseFunc = (
  ctx: Context,
  info: { readonly header: Metadata; readonly trailer: Metadata },
) => Context | void;

export interface ClientOptions {
  before?: ClientRequestFunc | readonly ClientRequestFunc[];
  after?: ClientResponseFunc | readonly ClientResponseFunc[];
  /** Called once per call with the outcome (go-kit's ClientFinalizer). */
  finalizer?: (ctx: Context, info: { code: Status; error: unknown }) => void;
  /** The method may be executed twice safely: DEADLINE_EXCEEDED and ABORTED become retryable. */
  idempotent?: boolean;
  /** Extra grpc-js call options (credentials, interceptors...); `deadline` comes from the context. */
  callOptions?: Omit<CallOptions, 'deadline' | 'parent'>;
}

/** A method as grpc-js needs it to make a call: its path and its (de)serializers. */
export type UnaryMethod<GReq, GRes> = Pick<
  MethodDefinition<GReq, GRes>,
  'path' | 'requestSerialize' | 'responseDeserialize'
>;

const isPromise = (x: unknown): x is PromiseLike<unknown> =>
  typeof x === 'object' && x !== null && typeof (x as { then?: unknown }).then === 'function';

const list = <T>(x: T | readonly T[] | undefined): readonly T[] =>
  x === undefined ? [] : Array.isArray(x) ? (x as readonly T[]) : [x as T];

/**
 * Finds a method by name in the service a generated or proto-loader client was built
 * from. Accepts the proto name (`SayHello`) and the camelCase one (`sayHello`).
 */
export function lookupMethod(client: Client, name: string): UnaryMethod<unknown, unknown> {
  const service = (client.constructor as Partial<ServiceClientConstructor>).service;
  if (service === undefined) {
    throw new TypeError(
      `kitts: cannot find method ${name}: the client has no service definition; pass the method definition instead of its name`,
    );
  }
  const direct = service[name];
  const found =
    direct ?? Object.values(service).find((m) => m.originalName === name || m.path.endsWith(`/${name}`));
  if (found === undefined) {
    throw new TypeError(
      `kitts: the service has no method ${name}; it has ${Object.keys(service).join(', ') || 'none'}`,
    );
  }
  if (found.requestStream || found.responseStream) {
    throw new TypeError(`kitts: ${found.path} is a streaming method; createUnaryClient calls unary methods`);
  }
  return found;
}

/**
 * An Endpoint calling one unary method on `client` (a grpc-js Client: generated, from
 * proto-loader, or a plain `new Client(address, credentials)` with a method definition).
 */
export function createUnaryClient<GReq, GRes, Req, Res>(
  client: Client,
  method: UnaryMethod<GReq, GRes> | string,
  encode: EncodeRequestFunc<Req, GReq>,
  decode: DecodeResponseFunc<GRes, Res>,
  options: ClientOptions = {},
): Endpoint<Req, Res> {
  if (typeof client?.makeUnaryRequest !== 'function') {
    throw new TypeError('kitts: createUnaryClient needs a grpc-js Client');
  }
  const def = (typeof method === 'string' ? lookupMethod(client, method) : method) as UnaryMethod<GReq, GRes>;
  if (typeof def?.path !== 'string' || typeof def.requestSerialize !== 'function') {
    throw new TypeError('kitts: createUnaryClient needs a method name or a method definition');
  }
  const { path, requestSerialize, responseDeserialize } = def;
  const before = list(options.before);
  const after = list(options.after);
  const { finalizer, idempotent = false } = options;
  const extra = options.callOptions ?? {};
  // Reused for every call without a deadline; grpc-js reads call options, never writes them.
  const staticOptions: CallOptions = { ...extra };

  // Filled by the call's events when after-hooks want the response metadata.
  interface Received {
    header: Metadata | undefined;
    trailer: Metadata | undefined;
  }

  function invoke(ctx: Context, message: GReq, metadata: Metadata, received?: Received): Promise<GRes> {
    return new Promise<GRes>((resolve, reject) => {
      const d = ctx.deadline;
      // The deadline goes out by the wall clock grpc-js uses, whatever clock the context has.
      const callOptions: CallOptions =
        d === undefined ? staticOptions : { ...extra, deadline: Date.now() + (d - ctx.now()) };
      let call: ClientUnaryCall | undefined;
      // onDone, not ctx.signal: no AbortController per call (that costs microseconds), and
      // nothing at all for a context that can never end.
      const stop = onDone(ctx, () => call?.cancel());
      call = client.makeUnaryRequest(
        path,
        requestSerialize,
        responseDeserialize,
        message,
        metadata,
        callOptions,
        (err: ServiceError | null, value?: GRes) => {
          stop();
          if (err !== null) reject(err);
          else resolve(value as GRes);
        },
      );
      if (received !== undefined) {
        // 'status' follows the callback synchronously, before the awaiting code resumes.
        call.on('metadata', (m: Metadata) => {
          received.header = m;
        });
        call.on('status', (st: { metadata: Metadata }) => {
          received.trailer = st.metadata;
        });
      }
    });
  }

  return async (ctx, request) => {
    const early = ctx.err();
    if (early !== undefined) throw early;
    let code: Status = Status.OK;
    let error: unknown;
    try {
      const encoded = encode(ctx, request);
      const message = isPromise(encoded) ? await encoded : encoded;
      const metadata = new Metadata();
      for (let i = 0; i < before.length; i++) ctx = before[i]!(ctx, metadata) ?? ctx;
      const received: Received | undefined =
        after.length > 0 ? { header: undefined, trailer: undefined } : undefined;
      let reply: GRes;
      try {
        reply = await invoke(ctx, message, metadata, received);
      } catch (e) {
        throw failure(ctx, e as ServiceError, idempotent);
      }
      if (received !== undefined) {
        const info = {
          header: received.header ?? new Metadata(),
          trailer: received.trailer ?? new Metadata(),
        };
        for (let i = 0; i < after.length; i++) ctx = after[i]!(ctx, info) ?? ctx;
      }
      const decoded = decode(ctx, reply);
      return isPromise(decoded) ? await decoded : decoded;
    } catch (e) {
      error = e;
      code = e instanceof GrpcError ? e.code : statusOf(e).code;
      throw e;
    } finally {
      finalizer?.(ctx, { code, error });
    }
  };
}

/**
 * The error for a failed call. When the context itself ended (its deadline passed, or its
 * owner cancelled), the context's error wins, as everywhere in kitts: middleware tells a
 * caller's cancellation from a remote failure by it.
 */
function failure(ctx: Context, err: ServiceError, idempotent: boolean): Error {
  if (err.code === Status.CANCELLED || err.code === Status.DEADLINE_EXCEEDED) {
    const own = ctx.err();
    if (own !== undefined) return own;
  }
  return GrpcError.from(err, idempotent);
}
