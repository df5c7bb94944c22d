// An OpenTelemetry SDK for the suites: spans land in an in-memory exporter.
import { W3CTraceContextPropagator } from '@opentelemetry/core';
import {
  BasicTracerProvider,
  InMemorySpanExporter,
  type ReadableSpan,
  SimpleSpanProcessor,
} from '@opentelemetry/sdk-trace-base';

export function sdk() {
  const exporter = new InMemorySpanExporter();
  const provider = new BasicTracerProvider({ spanProcessors: [new SimpleSpanProcessor(exporter)] });
  return {
    exporter,
    provider,
    tracer: provider.getTracer('kitts-test'),
    propagator: new W3CTraceContextPropagator(),
    spans: (): ReadableSpan[] => exporter.getFinishedSpans(),
    byName: (name: string): ReadableSpan => {
      const found = exporter.getFinishedSpans().find((s) => s.name === name);
      if (found === undefined) throw new Error(`no span named ${name}`);
      return found;
    },
  };
}

export const parentIdOf = (s: ReadableSpan) => s.parentSpanContext?.spanId;
