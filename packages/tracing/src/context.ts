/**
 * Where the kitts Context carries OpenTelemetry's: one value under `otelContextKey`, an
 * OpenTelemetry Context holding the active span (and baggage). kitts contexts are
 * explicit, so a span started by traceServer reaches traceClient and the propagation
 * hooks through the kitts Context, with or without an AsyncLocalStorage context manager.
 */
import { type Context, key, withValue } from '@kitts/endpoint';
import {
  type Context as OtelContext,
  context as otelContext,
  type Span,
  type SpanContext,
  trace,
} from '@opentelemetry/api';

export const otelContextKey = key<OtelContext>('kitts/tracing.otel-context');

/** The OpenTelemetry context of a kitts context: the one it carries, else OpenTelemetry's active one. */
export function otelContextOf(ctx: Context): OtelContext {
  return ctx.value(otelContextKey) ?? otelContext.active();
}

/** A child carrying `otel` (for code that starts spans of its own and wants kitts to follow). */
export function withOtelContext(ctx: Context, otel: OtelContext): Context {
  return withValue(ctx, otelContextKey, otel);
}

/** A child whose active span is `span`. */
export function withSpan(ctx: Context, span: Span): Context {
  return withValue(ctx, otelContextKey, trace.setSpan(otelContextOf(ctx), span));
}

/** The active span of a kitts context, if any. */
export function spanOf(ctx: Context): Span | undefined {
  return trace.getSpan(otelContextOf(ctx));
}

/** The active span context (trace id, span id, flags), if any and valid. */
export function spanContextOf(ctx: Context): SpanContext | undefined {
  const sc = trace.getSpanContext(otelContextOf(ctx));
  return sc !== undefined && trace.isSpanContextValid(sc) ? sc : undefined;
}

/**
 * Log fields tying a line to its trace (`trace_id`, `span_id`, `trace_flags`), for
 * `logging(logger, { fields: (ctx) => traceFields(ctx) })`; empty without a span.
 */
export function traceFields(ctx: Context): Record<string, string> {
  const sc = spanContextOf(ctx);
  if (sc === undefined) return {};
  return {
    trace_id: sc.traceId,
    span_id: sc.spanId,
    trace_flags: `0${sc.traceFlags.toString(16)}`.slice(-2),
  };
}
