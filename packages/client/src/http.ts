/**
 * The HTTP transport of a serviceClient: one undici pool per instance, shared by every
 * method. `@kitts/client/http` so that only users of HTTP need @kitts/transport-http.
 */
import { DecodeError, type Endpoint } from '@kitts/endpoint';
import type { Instance } from '@kitts/sd';
import {
  type ClientOptions,
  createClient,
  type DecodeResponseFunc,
  type EncodeRequestFunc,
  type Infer,
  jsonResponse,
  type OutgoingRequest,
  PoolSet,
  type PoolSetOptions,
  type Schema,
  validator,
} from '@kitts/transport-http';
import type { Connection, ServiceTransport } from './transport.js';

type HttpVerb = 'GET' | 'HEAD' | 'DELETE' | 'OPTIONS' | 'POST' | 'PUT' | 'PATCH';

export interface HttpMethodSpec<Req = any, Res = any> {
  method: HttpVerb;
  /** Path with `:name` parameters, filled from the request's fields of that name. */
  path: string;
  /** Checked before sending; a request that fails is a DecodeError (a bug of the caller: never retried). */
  request?: Schema<Req>;
  /** The answer's schema; an answer that fails it is a DecodeError naming the path. */
  response?: Schema<Res>;
  /**
   * Safe to retry. Default: true for GET, HEAD, PUT, DELETE and OPTIONS (idempotent by
   * RFC 9110), false for POST and PATCH.
   */
  idempotent?: boolean;
  /** Replace the default encoding (path parameters; the other fields in the query for GET/HEAD/DELETE/OPTIONS, as a JSON body otherwise). */
  encode?: EncodeRequestFunc<Req>;
  decode?: DecodeResponseFunc<Res>;
}

type ReqOf<S> = S extends { request: infer R }
  ? Infer<R>
  : S extends HttpMethodSpec<infer Q, any>
    ? Q
    : unknown;
type ResOf<S> = S extends { response: infer R }
  ? Infer<R>
  : S extends HttpMethodSpec<any, infer P>
    ? P
    : unknown;

export type HttpMethods<T extends Record<string, HttpMethodSpec>> = {
  [K in keyof T]: Endpoint<ReqOf<T[K]>, ResOf<T[K]>>;
};

export interface HttpTransportOptions<T extends Record<string, HttpMethodSpec>> {
  methods: T;
  /** undici pool options (connections, TLS `connect` options...) and `scheme` for bare host:port. */
  pool?: PoolSetOptions;
  /** Client options shared by every method (headers, before/after hooks, finalizer). */
  client?: Omit<ClientOptions, 'dispatcher'>;
}

const IDEMPOTENT = new Set<HttpVerb>(['GET', 'HEAD', 'PUT', 'DELETE', 'OPTIONS']);
const QUERY_VERBS = new Set<HttpVerb>(['GET', 'HEAD', 'DELETE', 'OPTIONS']);

export function http<T extends Record<string, HttpMethodSpec>>(
  options: HttpTransportOptions<T>,
): ServiceTransport<HttpMethods<T>> {
  const specs = options.methods;
  if (specs === undefined || Object.keys(specs).length === 0)
    throw new TypeError('kitts/client: http() needs at least one method');
  const compiled = Object.entries(specs).map(([name, spec]) => compile(name, spec));
  const pools = new PoolSet(options.pool);
  const methods = Object.fromEntries(
    compiled.map((c) => [c.name, { idempotent: c.idempotent }]),
  ) as ServiceTransport<HttpMethods<T>>['methods'];

  return {
    methods,
    connect(instance: Instance): Connection<HttpMethods<T>> {
      const lease = pools.acquire(instance.address);
      const endpoints: Record<string, Endpoint<any, any>> = {};
      for (const c of compiled) {
        endpoints[c.name] = createClient(c.verb, `${lease.origin}/`, c.encode, c.decode, {
          ...options.client,
          dispatcher: lease.dispatcher,
        });
      }
      return { endpoints: endpoints as HttpMethods<T>, close: () => lease.release() };
    },
    close: () => pools.close(),
  };
}

interface Compiled {
  name: string;
  verb: HttpVerb;
  idempotent: boolean;
  encode: EncodeRequestFunc<any>;
  decode: DecodeResponseFunc<any>;
}

function compile(name: string, spec: HttpMethodSpec): Compiled {
  const verb = String(spec.method).toUpperCase() as HttpVerb;
  if (!IDEMPOTENT.has(verb) && verb !== 'POST' && verb !== 'PATCH')
    throw new TypeError(`kitts/client: ${name}: unknown HTTP method ${spec.method}`);
  if (typeof spec.path !== 'string' || !spec.path.startsWith('/'))
    throw new TypeError(`kitts/client: ${name}: path must start with '/'`);
  const segments = spec.path.split('/');
  const params = segments.filter((s) => s.startsWith(':')).map((s) => s.slice(1));
  const check = spec.request === undefined ? undefined : validator(spec.request, `${name}: invalid request`);
  const inQuery = QUERY_VERBS.has(verb);

  const encodeFields = (request: unknown, out: OutgoingRequest): void => {
    const fields = (typeof request === 'object' && request !== null ? request : {}) as Record<
      string,
      unknown
    >;
    let path = '';
    for (let i = 1; i < segments.length; i++) {
      const seg = segments[i]!;
      if (seg.startsWith(':')) {
        const v = fields[seg.slice(1)];
        if (v === undefined || v === null || v === '') {
          throw new DecodeError(`${name}: path parameter "${seg.slice(1)}" is missing from the request`, {
            issues: [{ path: `$.${seg.slice(1)}`, message: 'required by the path' }],
          });
        }
        path += `/${encodeURIComponent(String(v))}`;
      } else {
        path += `/${seg}`;
      }
    }
    if (inQuery) {
      const q = new URLSearchParams();
      for (const [k, v] of Object.entries(fields)) {
        if (params.includes(k) || v === undefined || v === null) continue;
        if (Array.isArray(v)) for (const x of v) q.append(k, String(x));
        else q.append(k, typeof v === 'object' ? JSON.stringify(v) : String(v));
      }
      const qs = q.toString();
      out.path = qs === '' ? path : `${path}?${qs}`;
    } else {
      out.path = path;
      out.headers['content-type'] = 'application/json';
      out.body = JSON.stringify(request === undefined ? null : request);
    }
  };
  const encode: EncodeRequestFunc<any> =
    spec.encode ??
    (check === undefined
      ? (_ctx, request, out) => encodeFields(request, out)
      : async (_ctx, request, out) => encodeFields(await check(request), out));
  const decode = spec.decode ?? (spec.response === undefined ? jsonResponse() : jsonResponse(spec.response));
  return {
    name,
    verb,
    idempotent: spec.idempotent ?? IDEMPOTENT.has(verb),
    encode,
    decode: decode as DecodeResponseFunc<any>,
  };
}
