import * as grpc from '@grpc/grpc-js';
import { background } from '@kitts/endpoint';
import { propagation, ROOT_CONTEXT, TraceFlags, trace } from '@opentelemetry/api';
import { W3CTraceContextPropagator } from '@opentelemetry/core';
import { expect } from 'chai';
import fc from 'fast-check';
import {
  extract,
  grpcClientPropagation,
  grpcServerPropagation,
  httpClientPropagation,
  httpServerPropagation,
  inject,
  spanContextOf,
  traceServer,
  withOtelContext,
} from '../src/index.js';
import { parentIdOf, sdk } from './otel.js';

const propagator = new W3CTraceContextPropagator();
const hex = (n: number) =>
  fc.string({ unit: fc.constantFrom(...'0123456789abcdef'), minLength: n, maxLength: n });
/** A valid remote span context: ids are not all zeros. */
const remote = fc
  .record({ traceId: hex(32), spanId: hex(16), sampled: fc.boolean() })
  .filter((r) => !/^0+$/.test(r.traceId) && !/^0+$/.test(r.spanId));

function ctxWith(traceId: string, spanId: string, sampled: boolean, traceState?: string) {
  const headers: Record<string, string> = {
    traceparent: `00-${traceId}-${spanId}-${sampled ? '01' : '00'}`,
  };
  if (traceState !== undefined) headers.tracestate = traceState;
  return httpServerPropagation({ propagator })(background(), { headers });
}

describe('propagation hooks', () => {
  it('round-trips any valid traceparent through the HTTP server and client hooks (property)', () => {
    fc.assert(
      fc.property(remote, ({ traceId, spanId, sampled }) => {
        const ctx = ctxWith(traceId, spanId, sampled);
        const sc = spanContextOf(ctx)!;
        const out = { headers: {} as Record<string, string | string[]> };
        httpClientPropagation({ propagator })(ctx, out);
        return (
          sc.traceId === traceId &&
          sc.spanId === spanId &&
          sc.isRemote === true &&
          sc.traceFlags === (sampled ? TraceFlags.SAMPLED : TraceFlags.NONE) &&
          out.headers.traceparent === `00-${traceId}-${spanId}-${sampled ? '01' : '00'}`
        );
      }),
    );
  });

  it('carries tracestate along with traceparent', () => {
    const ctx = ctxWith('0af7651916cd43dd8448eb211c80319c', 'b7ad6b7169203331', true, 'vendor=x,other=y');
    const out = { headers: {} as Record<string, string | string[]> };
    httpClientPropagation({ propagator })(ctx, out);
    expect(out.headers.tracestate).to.equal('vendor=x,other=y');
  });

  it('makes the extracted context the parent of the server span', async () => {
    const t = sdk();
    const ctx = ctxWith('0af7651916cd43dd8448eb211c80319c', 'b7ad6b7169203331', true);
    await traceServer('s', { tracer: t.tracer })(async () => 1)(ctx, 0);
    const span = t.byName('s');
    expect(span.spanContext().traceId).to.equal('0af7651916cd43dd8448eb211c80319c');
    expect(parentIdOf(span)).to.equal('b7ad6b7169203331');
  });

  it('ignores a malformed traceparent: the server span starts a new trace', async () => {
    const t = sdk();
    const ctx = httpServerPropagation({ propagator })(background(), { headers: { traceparent: 'garbage' } });
    expect(spanContextOf(ctx)).to.equal(undefined);
    await traceServer('fresh', { tracer: t.tracer })(async () => 1)(ctx, 0);
    expect(parentIdOf(t.byName('fresh'))).to.equal(undefined);
  });

  it('writes and reads gRPC metadata', () => {
    const sc = {
      traceId: '4bf92f3577b34da6a3ce929d0e0e4736',
      spanId: '00f067aa0ba902b7',
      traceFlags: TraceFlags.SAMPLED,
    };
    const ctx = withOtelContext(background(), trace.setSpanContext(ROOT_CONTEXT, sc));
    const md = new grpc.Metadata();
    grpcClientPropagation({ propagator })(ctx, md);
    expect(md.get('traceparent')).to.deep.equal([`00-${sc.traceId}-${sc.spanId}-01`]);
    const back = spanContextOf(grpcServerPropagation({ propagator })(background(), md));
    expect(back).to.deep.include({ ...sc, isRemote: true });
  });

  it("uses OpenTelemetry's global propagator by default, and writes nothing when none is registered", () => {
    const sc = { traceId: '4bf92f3577b34da6a3ce929d0e0e4736', spanId: '00f067aa0ba902b7', traceFlags: 1 };
    const ctx = withOtelContext(background(), trace.setSpanContext(ROOT_CONTEXT, sc));
    const none: Record<string, string> = {};
    inject(ctx, none, { set: (c, k, v) => (c[k] = v) });
    expect(none).to.deep.equal({});

    propagation.setGlobalPropagator(propagator);
    try {
      const out = { headers: {} as Record<string, string | string[]> };
      httpClientPropagation()(ctx, out);
      expect(out.headers.traceparent).to.equal(`00-${sc.traceId}-${sc.spanId}-01`);
      const read = extract(background(), out.headers, {
        get: (c, k) => c[k] as string | undefined,
        keys: (c) => Object.keys(c),
      });
      expect(spanContextOf(read)?.spanId).to.equal(sc.spanId);
    } finally {
      propagation.disable();
    }
  });
});
