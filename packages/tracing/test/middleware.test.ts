import {
  background,
  CircuitOpenError,
  type Endpoint,
  type Failer,
  KittsError,
  withValue,
} from '@kitts/endpoint';
import { instanceKey } from '@kitts/sd';
import { context as otelContext, SpanKind, SpanStatusCode, trace } from '@opentelemetry/api';
import { AsyncLocalStorageContextManager } from '@opentelemetry/context-async-hooks';
import { expect } from 'chai';
import { spanContextOf, spanOf, traceClient, traceFields, traceServer } from '../src/index.js';
import { parentIdOf, sdk } from './otel.js';

class NotFound extends Error {
  readonly code = 'NOT_FOUND';
}
const answer = (err?: Error): Failer & { ok: boolean } => ({ ok: err === undefined, failed: () => err });

describe('traceServer / traceClient', () => {
  it('opens a server span and a client span under it, carried by the kitts context alone', async () => {
    const t = sdk();
    let seen: string | undefined;
    const downstream = traceClient('comments.list', { tracer: t.tracer, service: 'comments' })(
      async (ctx) => {
        seen = spanContextOf(ctx)?.spanId;
        return 'ok';
      },
    );
    const handler = traceServer('goods.get', { tracer: t.tracer, activate: false })((ctx, req: number) =>
      downstream(ctx, req),
    );
    expect(await handler(background(), 1)).to.equal('ok');

    const server = t.byName('goods.get');
    const client = t.byName('comments/comments.list');
    expect(server.kind).to.equal(SpanKind.SERVER);
    expect(client.kind).to.equal(SpanKind.CLIENT);
    expect(client.spanContext().traceId).to.equal(server.spanContext().traceId);
    expect(parentIdOf(client)).to.equal(server.spanContext().spanId);
    expect(parentIdOf(server)).to.equal(undefined);
    expect(seen).to.equal(client.spanContext().spanId);
    expect(client.attributes).to.deep.include({
      'rpc.system': 'kitts',
      'rpc.service': 'comments',
      'rpc.method': 'comments.list',
      'kitts.outcome': 'ok',
    });
    expect(server.status.code).to.equal(SpanStatusCode.UNSET);
  });

  it('names the instance a balancer chose as server.address and server.port', async () => {
    const t = sdk();
    const e = traceClient('get', { tracer: t.tracer })(async () => 1);
    await e(withValue(background(), instanceKey, { id: 'a', address: '127.0.0.1:13312' }), 0);
    await traceClient('get2', { tracer: t.tracer, address: '[::1]:9000' })(async () => 1)(background(), 0);
    expect(t.byName('get').attributes).to.deep.include({
      'server.address': '127.0.0.1',
      'server.port': 13312,
    });
    expect(t.byName('get2').attributes).to.deep.include({ 'server.address': '::1', 'server.port': 9000 });
  });

  it('marks a failure as an error with its type, status code and exception, and rethrows it', async () => {
    const t = sdk();
    const boom = new KittsError('UPSTREAM', 'bad gateway', { statusCode: 502 });
    const e = traceClient('x', { tracer: t.tracer })(async () => {
      throw boom;
    });
    expect(await e(background(), 1).catch((x: unknown) => x)).to.equal(boom);
    const span = t.byName('x');
    expect(span.status).to.deep.equal({ code: SpanStatusCode.ERROR, message: 'bad gateway' });
    expect(span.attributes).to.deep.include({
      'error.type': 'UPSTREAM',
      'http.response.status_code': 502,
      'kitts.outcome': 'error',
    });
    expect(span.events.map((ev) => ev.name)).to.deep.equal(['exception']);
  });

  it('records a business error as an event and leaves the status unset', async () => {
    const t = sdk();
    const e = traceServer('lookup', { tracer: t.tracer })(async () => answer(new NotFound('no such good')));
    const res = await e(background(), 1);
    expect(res.ok).to.equal(false);
    const span = t.byName('lookup');
    expect(span.status.code).to.equal(SpanStatusCode.UNSET);
    expect(span.attributes['kitts.outcome']).to.equal('business_error');
    expect(span.events.map((ev) => [ev.name, ev.attributes])).to.deep.equal([
      ['business_error', { 'error.type': 'NOT_FOUND', 'exception.message': 'no such good' }],
    ]);
  });

  it('calls a breaker rejection a rejection', async () => {
    const t = sdk();
    const e = traceClient('r', { tracer: t.tracer })(async () => {
      throw new CircuitOpenError();
    });
    await e(background(), 1).catch(() => {});
    expect(t.byName('r').attributes).to.deep.include({
      'error.type': 'CIRCUIT_OPEN',
      'kitts.outcome': 'rejected',
    });
  });

  it("makes the span OpenTelemetry's active one inside the endpoint when a context manager runs", async () => {
    const t = sdk();
    const manager = new AsyncLocalStorageContextManager().enable();
    otelContext.setGlobalContextManager(manager);
    try {
      let active: string | undefined;
      const e = traceServer('active', { tracer: t.tracer })(async () => {
        await new Promise((r) => setImmediate(r));
        active = trace.getActiveSpan()?.spanContext().spanId;
        return 1;
      });
      await e(background(), 1);
      expect(active).to.equal(t.byName('active').spanContext().spanId);

      // And a span started by other code around kitts becomes the parent.
      const outer = t.tracer.startSpan('outer');
      await otelContext.with(trace.setSpan(otelContext.active(), outer), () =>
        traceClient('inner', { tracer: t.tracer })(async () => 1)(background(), 1),
      );
      outer.end();
      expect(parentIdOf(t.byName('inner'))).to.equal(outer.spanContext().spanId);
    } finally {
      otelContext.disable();
    }
  });

  it('gives log lines the trace and span ids', async () => {
    const t = sdk();
    let fields: Record<string, string> = {};
    const e: Endpoint<number, number> = traceServer('f', { tracer: t.tracer })(async (ctx) => {
      fields = traceFields(ctx);
      expect(spanOf(ctx)?.isRecording()).to.equal(true);
      return 1;
    });
    await e(background(), 1);
    const sc = t.byName('f').spanContext();
    expect(fields).to.deep.equal({ trace_id: sc.traceId, span_id: sc.spanId, trace_flags: '01' });
    expect(traceFields(background())).to.deep.equal({});
  });

  it('rejects a missing name', () => {
    expect(() => traceServer('')).to.throw(/non-empty name/);
    expect(() => traceClient(3 as never)).to.throw(/non-empty name/);
  });
});
