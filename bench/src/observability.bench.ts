// bench/observability: what each observability middleware adds per call over a bare endpoint.
// Targets: under 1 µs for instrument() and for logging() at a disabled level.
import { background, type Endpoint, withValue } from '@kitts/endpoint';
import { logging } from '@kitts/log';
import { instrument } from '@kitts/metrics';
import { instanceKey } from '@kitts/sd';
import { traceClient, traceServer } from '@kitts/tracing';
import { BasicTracerProvider, type ReadableSpan, type SpanProcessor } from '@opentelemetry/sdk-trace-base';
import { pino } from 'pino';
import { Counter, Histogram, Registry } from 'prom-client';
import { group } from './harness.js';

// Spans are made, sampled and ended, then dropped: the cost of tracing, not of an exporter.
const dropSpans: SpanProcessor = {
  onStart() {},
  onEnd(_span: ReadableSpan) {},
  forceFlush: () => Promise.resolve(),
  shutdown: () => Promise.resolve(),
};

export async function run(): Promise<void> {
  const bare: Endpoint<number, number> = async (_ctx, n) => n;
  const ctx = withValue(background(), instanceKey, { id: 'a', address: '127.0.0.1:13312' });

  const registry = new Registry();
  const instrumented = instrument({ name: 'bench', registry })(bare);

  // What instrument() would cost if it called prom-client per request, for comparison.
  const counter = new Counter({
    name: 'c',
    help: 'c',
    labelNames: ['endpoint', 'outcome', 'code'],
    registers: [registry],
  });
  const histogram = new Histogram({
    name: 'h',
    help: 'h',
    labelNames: ['endpoint', 'outcome'],
    registers: [registry],
  });
  const okCount = counter.labels({ endpoint: 'bench', outcome: 'ok', code: '' });
  const okTime = histogram.labels({ endpoint: 'bench', outcome: 'ok' });
  const naive: Endpoint<number, number> = async (c, n) => {
    const t0 = performance.now();
    const r = await bare(c, n);
    okTime.observe((performance.now() - t0) / 1000);
    okCount.inc();
    return r;
  };

  const sink = { write: (_s: string) => {} };
  const silent = pino({ level: 'silent' }, sink);
  const warnOnly = pino({ level: 'warn' }, sink);
  const info = pino({ level: 'info' }, sink);
  const offEntirely = logging(silent, { method: 'bench' })(bare);
  const okOff = logging(warnOnly, { method: 'bench' })(bare); // errors would be logged, successes not
  const written = logging(info, { method: 'bench' })(bare);

  const provider = new BasicTracerProvider({ spanProcessors: [dropSpans] });
  const tracer = provider.getTracer('bench');
  const noopServer = traceServer('bench')(bare); // no SDK registered: OpenTelemetry's no-op tracer
  const sdkServer = traceServer('bench', { tracer, activate: false })(bare);
  const sdkClient = traceClient('bench', { tracer, activate: false })(bare);

  await group('metrics: instrument() over a bare endpoint (target: < 1 µs added)', [
    { name: 'bare endpoint', fn: () => bare(ctx, 1) },
    { name: 'instrument() (counter + histogram + in-flight)', fn: () => instrumented(ctx, 1) },
    { name: 'prom-client called per request (for comparison)', fn: () => naive(ctx, 1) },
  ]);

  await group('log: logging() with pino over a bare endpoint (target: < 1 µs added when disabled)', [
    { name: 'bare endpoint', fn: () => bare(ctx, 1) },
    { name: 'logging(), both levels disabled', fn: () => offEntirely(ctx, 1) },
    { name: 'logging(), success level disabled, error level on', fn: () => okOff(ctx, 1) },
    { name: 'logging(), line written (pino to a null stream)', fn: () => written(ctx, 1) },
  ]);

  await group('tracing: traceServer/traceClient over a bare endpoint', [
    { name: 'bare endpoint', fn: () => bare(ctx, 1) },
    { name: 'traceServer(), no SDK (no-op tracer)', fn: () => noopServer(ctx, 1) },
    { name: 'traceServer(), SDK, sampled, spans dropped', fn: () => sdkServer(ctx, 1) },
    { name: 'traceClient(), SDK, sampled, spans dropped', fn: () => sdkClient(ctx, 1) },
  ]);
  await provider.shutdown();
}
