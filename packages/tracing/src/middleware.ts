import { businessError, type Context, codeOf, type Endpoint, withValue } from '@kitts/endpoint';
import { type Instance, instanceKey } from '@kitts/sd';
import {
  type Attributes,
  context as otelContext,
  type Span,
  SpanKind,
  SpanStatusCode,
  type Tracer,
  trace,
} from '@opentelemetry/api';
import { otelContextKey } from './context.js';

export interface TraceOptions {
  /** Default: `trace.getTracer('@kitts/tracing')`, which follows the global provider once registered. */
  tracer?: Tracer;
  /** `rpc.system`: `grpc` for gRPC; default `kitts`. */
  system?: string;
  /** `rpc.service`; the span is then named `<service>/<name>`, as the conventions ask. */
  service?: string;
  /** `server.address` and `server.port` when no balancer put the instance in the context. */
  address?: string;
  /** Added to every span at its start (samplers see them). */
  attributes?: Attributes;
  /**
   * Also make the span OpenTelemetry's active context while the endpoint runs, so spans
   * of auto-instrumented libraries (pg, redis, undici...) nest under it. Default true.
   */
  activate?: boolean;
}

type Traced = <Req, Res>(next: Endpoint<Req, Res>) => Endpoint<Req, Res>;

/** A SERVER span around each call: the parent is what httpServerPropagation/grpcServerPropagation extracted. */
export function traceServer(name: string, options: TraceOptions = {}): Traced {
  return traced(name, SpanKind.SERVER, options);
}

/**
 * A CLIENT span around each call, child of the span in the context. Under a balancer it
 * names the chosen instance (`server.address`, `server.port`) from `instanceKey`.
 */
export function traceClient(name: string, options: TraceOptions = {}): Traced {
  return traced(name, SpanKind.CLIENT, options);
}

function traced(name: string, kind: SpanKind, options: TraceOptions): Traced {
  if (typeof name !== 'string' || name === '') {
    throw new TypeError(`kitts/tracing: a span needs a non-empty name, got ${JSON.stringify(name)}`);
  }
  if (typeof options !== 'object' || options === null) {
    throw new TypeError('kitts/tracing: options must be an object');
  }
  const tracer = options.tracer ?? trace.getTracer('@kitts/tracing');
  const spanName = options.service === undefined ? name : `${options.service}/${name}`;
  const base: Attributes = { 'rpc.system': options.system ?? 'kitts', 'rpc.method': name };
  if (options.service !== undefined) base['rpc.service'] = options.service;
  if (options.address !== undefined) Object.assign(base, addressAttributes(options.address));
  Object.assign(base, options.attributes);
  const activate = options.activate !== false;
  const client = kind === SpanKind.CLIENT;
  // Per instance, not per call: instances are long-lived objects owned by the Endpointer.
  const byInstance = new WeakMap<Instance, Attributes>();
  const attributesFor = (ctx: Context): Attributes => {
    if (!client) return base;
    const instance = ctx.value(instanceKey);
    if (instance === undefined) return base;
    let attrs = byInstance.get(instance);
    if (attrs === undefined)
      byInstance.set(instance, (attrs = { ...base, ...addressAttributes(instance.address) }));
    return attrs;
  };

  return <Req, Res>(next: Endpoint<Req, Res>): Endpoint<Req, Res> =>
    async (ctx, request) => {
      const parent = ctx.value(otelContextKey) ?? otelContext.active();
      const span = tracer.startSpan(spanName, { kind, attributes: attributesFor(ctx) }, parent);
      const inner = trace.setSpan(parent, span);
      const child = withValue(ctx, otelContextKey, inner);
      try {
        const response = await (activate
          ? otelContext.with(inner, next, undefined, child, request)
          : next(child, request));
        const failed = businessError(response);
        if (failed !== undefined) recordBusinessError(span, failed);
        else span.setAttribute('kitts.outcome', 'ok');
        return response;
      } catch (err) {
        recordError(span, err);
        throw err;
      } finally {
        span.end();
      }
    };
}

/** `host:port` as server.address and server.port; anything else whole as server.address. */
function addressAttributes(address: string): Attributes {
  const colon = address.lastIndexOf(':');
  if (colon > 0 && !address.startsWith('unix:')) {
    const port = Number(address.slice(colon + 1));
    if (Number.isInteger(port) && port > 0 && port < 65536) {
      let host = address.slice(0, colon);
      if (host.startsWith('[') && host.endsWith(']')) host = host.slice(1, -1);
      return { 'server.address': host, 'server.port': port };
    }
  }
  return { 'server.address': address };
}

// Codes of the errors kitts raises when it refuses a call without running it.
const REJECTIONS: ReadonlySet<string> = new Set(['CIRCUIT_OPEN', 'RATE_LIMITED']);

function recordError(span: Span, err: unknown): void {
  const code = codeOf(err);
  const type = code ?? (err instanceof Error ? err.name : 'UNKNOWN');
  span.setAttribute('error.type', type);
  span.setAttribute('kitts.outcome', code !== undefined && REJECTIONS.has(code) ? 'rejected' : 'error');
  const status = statusOf(err);
  if (status !== undefined) span.setAttribute('http.response.status_code', status);
  if (err instanceof Error) span.recordException(err);
  else span.recordException(String(err));
  span.setStatus({ code: SpanStatusCode.ERROR, message: err instanceof Error ? err.message : String(err) });
}

/** A "no" answer is not a failure of the call: an event on a span whose status stays unset. */
function recordBusinessError(span: Span, err: Error): void {
  span.setAttribute('kitts.outcome', 'business_error');
  span.addEvent('business_error', {
    'error.type': codeOf(err) ?? err.name,
    'exception.message': err.message,
  });
}

function statusOf(err: unknown): number | undefined {
  const s =
    typeof err === 'object' && err !== null ? (err as { statusCode?: unknown }).statusCode : undefined;
  return typeof s === 'number' && Number.isInteger(s) && s >= 100 && s <= 599 ? s : undefined;
}
