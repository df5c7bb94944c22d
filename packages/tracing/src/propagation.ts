/**
 * W3C trace-context propagation as transport hooks, through OpenTelemetry's propagation
 * API: the globally registered propagator by default (the SDK registers W3C
 * `traceparent`/`tracestate` and baggage), or the one given.
 *
 * The hook shapes are those of @kitts/transport-http and @kitts/transport-grpc
 * (`(ctx, carrier) => Context | void`), typed structurally so this package needs neither.
 */
import { type Context, withValue } from '@kitts/endpoint';
import {
  defaultTextMapGetter,
  defaultTextMapSetter,
  type Context as OtelContext,
  context as otelContext,
  propagation,
  type TextMapGetter,
  type TextMapSetter,
} from '@opentelemetry/api';
import { otelContextKey, otelContextOf, spanOf } from './context.js';

/** What inject and extract need; OpenTelemetry's `propagation` API and any TextMapPropagator fit. */
export interface Propagator {
  inject<C>(context: OtelContext, carrier: C, setter: TextMapSetter<C>): void;
  extract<C>(context: OtelContext, carrier: C, getter: TextMapGetter<C>): OtelContext;
}

export interface PropagationOptions {
  /** OpenTelemetry's global propagator by default. */
  propagator?: Propagator;
}

/** Headers as an outgoing request holds them (transport-http's `OutgoingRequest`). */
export interface OutgoingHeaders {
  headers: Record<string, string | string[]>;
}

/** Headers as node:http delivers them: lower-case names. */
export interface IncomingHeaders {
  headers: Readonly<Record<string, string | string[] | undefined>>;
}

/** The part of grpc-js' Metadata the hooks use. */
export interface MetadataLike {
  get(key: string): readonly (string | Buffer)[];
  set(key: string, value: string): void;
  getMap?(): Record<string, unknown>;
}

/** Write the trace context of `ctx` into a carrier. */
export function inject<C>(
  ctx: Context,
  carrier: C,
  setter: TextMapSetter<C>,
  options: PropagationOptions = {},
): void {
  (options.propagator ?? propagation).inject(otelContextOf(ctx), carrier, setter);
}

/** A child of `ctx` carrying the trace context read from a carrier (the remote parent). */
export function extract<C>(
  ctx: Context,
  carrier: C,
  getter: TextMapGetter<C>,
  options: PropagationOptions = {},
): Context {
  return extractWith(options.propagator ?? propagation, ctx, carrier, getter);
}

function extractWith<C>(p: Propagator, ctx: Context, carrier: C, getter: TextMapGetter<C>): Context {
  const base = ctx.value(otelContextKey) ?? otelContext.active();
  return withValue(ctx, otelContextKey, p.extract(base, carrier, getter));
}

/** HTTP client before-hook: adds `traceparent`/`tracestate` (and what else the propagator writes). */
export function httpClientPropagation(
  options: PropagationOptions = {},
): (ctx: Context, out: OutgoingHeaders) => void {
  const p = options.propagator ?? propagation;
  return (ctx, out) => p.inject(otelContextOf(ctx), out.headers, defaultTextMapSetter);
}

/** HTTP server before-hook: the caller's trace context becomes the parent of traceServer's span. */
export function httpServerPropagation(
  options: PropagationOptions = {},
): (ctx: Context, req: IncomingHeaders) => Context {
  const p = options.propagator ?? propagation;
  return (ctx, req) => extractWith(p, ctx, req.headers, defaultTextMapGetter);
}

/**
 * HTTP client after-hook: records the answer's status as `http.response.status_code` on
 * the active span (traceClient's), 2xx included; errors alone say only what failed.
 */
export function httpClientStatus(): (ctx: Context, res: { statusCode: number }) => void {
  return (ctx, res) => {
    spanOf(ctx)?.setAttribute('http.response.status_code', res.statusCode);
  };
}

const metadataSetter: TextMapSetter<MetadataLike> = {
  set: (carrier, key, value) => carrier.set(key, value),
};

const metadataGetter: TextMapGetter<MetadataLike> = {
  keys: (carrier) => (carrier.getMap === undefined ? [] : Object.keys(carrier.getMap())),
  get: (carrier, key) => {
    const values = carrier.get(key);
    if (values.length === 0) return undefined;
    if (values.length === 1) return String(values[0]);
    return values.map(String);
  },
};

/** gRPC client before-hook: writes the trace context into the outgoing metadata. */
export function grpcClientPropagation(
  options: PropagationOptions = {},
): (ctx: Context, metadata: MetadataLike) => void {
  const p = options.propagator ?? propagation;
  return (ctx, metadata) => p.inject(otelContextOf(ctx), metadata, metadataSetter);
}

/** gRPC server before-hook: the caller's trace context, from the request metadata, becomes the parent. */
export function grpcServerPropagation(
  options: PropagationOptions = {},
): (ctx: Context, metadata: MetadataLike) => Context {
  const p = options.propagator ?? propagation;
  return (ctx, metadata) => extractWith(p, ctx, metadata, metadataGetter);
}
