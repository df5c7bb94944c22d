// One trace across a real HTTP hop and a real gRPC hop, through the kitts transports:
// test -> (HTTP, transport-http over undici) -> goods service -> (gRPC, transport-grpc) -> echo service.
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import * as grpc from '@grpc/grpc-js';
import { background } from '@kitts/endpoint';
import { assertNoLeaks, baseline } from '@kitts/testkit';
import { createUnaryClient, createUnaryHandler } from '@kitts/transport-grpc';
import {
  createClient,
  createHandler,
  encodeJSON,
  jsonBody,
  jsonRequest,
  jsonResponse,
} from '@kitts/transport-http';
import { propagation, SpanKind } from '@opentelemetry/api';
import { expect } from 'chai';
import { Agent } from 'undici';
import {
  grpcClientPropagation,
  grpcServerPropagation,
  httpClientPropagation,
  httpClientStatus,
  httpServerPropagation,
  traceClient,
  traceServer,
  withSpan,
} from '../src/index.js';
import { parentIdOf, sdk } from './otel.js';

interface Echo {
  text: string;
  /** The traceparent metadata the echo service received. */
  traceparent?: string;
}

const json = <T>() => ({
  serialize: (v: T) => Buffer.from(JSON.stringify(v)),
  deserialize: (b: Buffer) => JSON.parse(b.toString()) as T,
});

// A unary method with JSON messages: no .proto needed for a tracing test.
const echoMethod: grpc.MethodDefinition<Echo, Echo> = {
  path: '/kitts.tracing.test.Echo/Echo',
  requestStream: false,
  responseStream: false,
  requestSerialize: json<Echo>().serialize,
  requestDeserialize: json<Echo>().deserialize,
  responseSerialize: json<Echo>().serialize,
  responseDeserialize: json<Echo>().deserialize,
};

describe('trace context across real HTTP and gRPC hops', () => {
  it('keeps one trace id end to end, each span the child of the one before', async () => {
    const base = await baseline();
    const t = sdk();
    // The HTTP hooks get the propagator explicitly; the gRPC hooks use the global one.
    propagation.setGlobalPropagator(t.propagator);
    const tracer = t.tracer;

    // The echo service, over gRPC.
    let sawMetadata: string | undefined;
    const echo = traceServer('Echo', { tracer, system: 'grpc', service: 'kitts.tracing.test.Echo' })(
      async (_ctx, req: Echo): Promise<Echo> => ({ text: req.text.toUpperCase(), traceparent: sawMetadata }),
    );
    const grpcServer = new grpc.Server();
    grpcServer.addService(
      { echo: echoMethod },
      {
        echo: createUnaryHandler(
          echo,
          (_ctx, m: Echo) => m,
          (_ctx, r: Echo) => r,
          {
            before: [
              (ctx, md) => {
                sawMetadata = String(md.get('traceparent')[0]);
                return ctx;
              },
              grpcServerPropagation(),
            ],
          },
        ),
      },
    );
    const grpcPort = await new Promise<number>((resolve, reject) =>
      grpcServer.bindAsync('127.0.0.1:0', grpc.ServerCredentials.createInsecure(), (err, port) =>
        err ? reject(err) : resolve(port),
      ),
    );
    const grpcClient = new grpc.Client(`127.0.0.1:${grpcPort}`, grpc.credentials.createInsecure());
    const callEcho = traceClient('Echo', {
      tracer,
      system: 'grpc',
      service: 'kitts.tracing.test.Echo',
      address: `127.0.0.1:${grpcPort}`,
    })(
      createUnaryClient(
        grpcClient,
        echoMethod,
        (_ctx, text: string): Echo => ({ text }),
        (_ctx, m: Echo) => m,
        {
          before: [grpcClientPropagation()],
        },
      ),
    );

    // The goods service, over HTTP; it calls the echo service.
    let seenHeader: string | undefined;
    const goods = traceServer('goods.get', { tracer })(async (ctx, req: unknown) => {
      const { text } = req as { text: string };
      return { echoed: await callEcho(ctx, text), traceparent: seenHeader };
    });
    const handler = createHandler(goods, jsonBody(), encodeJSON, {
      before: [
        (ctx, req) => {
          seenHeader = req.headers.traceparent as string | undefined;
          return ctx;
        },
        httpServerPropagation({ propagator: t.propagator }),
      ],
    });
    const httpServer: Server = createServer(handler);
    await new Promise<void>((r) => httpServer.listen(0, '127.0.0.1', r));
    const httpPort = (httpServer.address() as AddressInfo).port;

    const agent = new Agent();
    const getGoods = traceClient('goods.get', { tracer, address: `127.0.0.1:${httpPort}` })(
      createClient('POST', `http://127.0.0.1:${httpPort}/goods`, jsonRequest, jsonResponse(), {
        dispatcher: agent,
        before: [httpClientPropagation({ propagator: t.propagator })],
        after: [httpClientStatus()],
      }),
    );

    try {
      const root = tracer.startSpan('test');
      const res = (await getGoods(withSpan(background(), root), { text: 'hi' })) as {
        echoed: Echo;
        traceparent: string;
      };
      root.end();

      const rootCtx = root.spanContext();
      const httpClient = t.spans().find((s) => s.name === 'goods.get' && s.kind === SpanKind.CLIENT)!;
      const httpServerSpan = t.spans().find((s) => s.name === 'goods.get' && s.kind === SpanKind.SERVER)!;
      const grpcClientSpan = t.spans().find((s) => s.name.endsWith('/Echo') && s.kind === SpanKind.CLIENT)!;
      const grpcServerSpan = t.spans().find((s) => s.name.endsWith('/Echo') && s.kind === SpanKind.SERVER)!;

      expect(res.echoed.text).to.equal('HI');
      expect(t.spans()).to.have.length(5);
      expect(new Set(t.spans().map((s) => s.spanContext().traceId))).to.deep.equal(
        new Set([rootCtx.traceId]),
      );
      expect(parentIdOf(httpClient)).to.equal(rootCtx.spanId);
      expect(parentIdOf(httpServerSpan)).to.equal(httpClient.spanContext().spanId);
      expect(parentIdOf(grpcClientSpan)).to.equal(httpServerSpan.spanContext().spanId);
      expect(parentIdOf(grpcServerSpan)).to.equal(grpcClientSpan.spanContext().spanId);
      // What went over the wire is W3C traceparent: version-traceid-spanid-flags.
      expect(res.traceparent).to.equal(`00-${rootCtx.traceId}-${httpClient.spanContext().spanId}-01`);
      expect(res.echoed.traceparent).to.equal(
        `00-${rootCtx.traceId}-${grpcClientSpan.spanContext().spanId}-01`,
      );
      expect(httpClient.attributes).to.deep.include({
        'http.response.status_code': 200,
        'server.address': '127.0.0.1',
        'server.port': httpPort,
      });
      expect(grpcServerSpan.attributes).to.deep.include({ 'rpc.system': 'grpc', 'rpc.method': 'Echo' });
    } finally {
      propagation.disable();
      grpcClient.close();
      grpcServer.forceShutdown();
      httpServer.closeAllConnections();
      await new Promise<void>((r) => httpServer.close(() => r()));
      await agent.close();
    }
    await assertNoLeaks(base);
  });
});
