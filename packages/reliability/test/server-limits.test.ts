// The size limits and slow-request timeouts a kitts server runs with. transport-http has
// no timeouts of its own: a kitts handler runs on a node:http server, whose settings
// apply. These tests pin the defaults docs/reliability.md states and show each setting
// acting on a kitts server (a 431, a 413, a 408 for headers or a body that trickle in).
import { createServer, Server as HttpServer, maxHeaderSize, type Server } from 'node:http';
import { connect, type Socket } from 'node:net';
import * as grpcjs from '@grpc/grpc-js';
import { serve } from '@kitts/client';
import type { Context } from '@kitts/endpoint';
import { waitFor } from '@kitts/testkit';
import { createUnaryHandler } from '@kitts/transport-grpc';
import { createHandler, createRouter, encodeJSON, type FinalizerInfo, jsonBody } from '@kitts/transport-http';
import { expect } from 'chai';
import { sendRaw } from '../src/bad-input/raw-http.js';
import { echoClient } from '../src/echo.js';

const MiB = 1024 * 1024;

/** A kitts echo route (POST /echo, JSON body up to `limit`) on a node:http server with `options`. */
function kittsServer(options: ConstructorParameters<typeof HttpServer>[0] = {}, limit?: number) {
  const finals: FinalizerInfo[] = [];
  const handler = createHandler(
    async (_ctx: Context, body: unknown) => ({ size: JSON.stringify(body).length }),
    jsonBody(undefined, limit === undefined ? {} : { limit }),
    encodeJSON,
    { finalizer: (_ctx, info) => finals.push(info) },
  );
  const server = createServer(options, createRouter([{ method: 'POST', path: '/echo', handler }]));
  return { server, finals };
}

async function listen(server: Server) {
  return serve({ server, signals: false, drainTimeout: 200 });
}

/** Writes `head`, then one `drip` every `every` ms until the server answers or closes; resolves with what came back. */
function trickle(port: number, head: string, drip: string, every: number): Promise<string> {
  return new Promise((resolve) => {
    let got = '';
    const socket: Socket = connect({ host: '127.0.0.1', port });
    const timer = setInterval(() => socket.write(drip), every);
    const done = () => {
      clearInterval(timer);
      socket.destroy();
      resolve(got);
    };
    socket.on('data', (c: Buffer) => {
      got += c.toString('latin1');
    });
    socket.on('close', done);
    socket.on('error', done);
    socket.write(head);
  });
}

describe('server limits: sizes and slow requests on a kitts server', function () {
  this.timeout(20_000);

  it('runs with the defaults the docs state (Node 20 and jsonBody)', () => {
    const s = new HttpServer();
    expect({
      maxHeaderSize,
      headersTimeout: s.headersTimeout,
      requestTimeout: s.requestTimeout,
      keepAliveTimeout: s.keepAliveTimeout,
      timeout: s.timeout,
      maxHeadersCount: s.maxHeadersCount,
    }).to.deep.equal({
      maxHeaderSize: 16 * 1024,
      headersTimeout: 60_000,
      requestTimeout: 300_000,
      keepAliveTimeout: 5_000,
      timeout: 0,
      maxHeadersCount: null, // Node's default: 2000
    });
  });

  it('answers 431 to headers over maxHeaderSize (16 KiB), and serves them when it is raised', async () => {
    const head = (port: number) =>
      `POST /echo HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\nContent-Type: application/json\r\nX-Big: ${'h'.repeat(20 * 1024)}\r\nContent-Length: 2\r\nConnection: close\r\n\r\n{}`;
    const small = await listen(kittsServer().server);
    const big = await listen(kittsServer({ maxHeaderSize: 32 * 1024 }).server);
    try {
      expect((await sendRaw(small.port, Buffer.from(head(small.port)), 'wait')).statuses).to.deep.equal([
        431,
      ]);
      expect((await sendRaw(big.port, Buffer.from(head(big.port)), 'wait')).statuses).to.deep.equal([200]);
    } finally {
      await Promise.all([small.close(), big.close()]);
    }
  });

  it('answers 413 past the body limit (1 MiB by default), declared or not, and takes a body at it', async () => {
    const { server, finals } = kittsServer();
    const s = await listen(server);
    const json = (bytes: number) => `{"p":"${'x'.repeat(bytes - 8)}"}`;
    const post = (body: string, chunked = false) =>
      Buffer.from(
        `POST /echo HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nConnection: close\r\n${
          chunked
            ? `Transfer-Encoding: chunked\r\n\r\n${Buffer.byteLength(body).toString(16)}\r\n${body}\r\n0\r\n\r\n`
            : `Content-Length: ${Buffer.byteLength(body)}\r\n\r\n${body}`
        }`,
      );
    try {
      expect(json(MiB)).to.have.length(MiB);
      expect((await sendRaw(s.port, post(json(MiB)), 'wait')).statuses).to.deep.equal([200]);
      expect((await sendRaw(s.port, post(json(MiB + 1)), 'wait')).statuses).to.deep.equal([413]);
      expect((await sendRaw(s.port, post(json(MiB + 1), true), 'wait')).statuses).to.deep.equal([413]);
      expect(finals.map((f) => f.statusCode)).to.deep.equal([200, 413, 413]);
    } finally {
      await s.close();
    }
  });

  it('answers 408 and closes when headers trickle in past headersTimeout', async () => {
    // connectionsCheckingInterval: how often Node looks for late requests (30 s by default).
    const { server, finals } = kittsServer({
      headersTimeout: 300,
      requestTimeout: 600,
      connectionsCheckingInterval: 50,
    });
    const s = await listen(server);
    try {
      const got = await trickle(s.port, 'POST /echo HTTP/1.1\r\nHost: x\r\n', 'X-Slow: 1\r\n', 50);
      expect(got).to.match(/^HTTP\/1\.1 408 /);
      expect(finals, 'the kitts handler never saw it').to.deep.equal([]);
    } finally {
      await s.close();
    }
  });

  it('answers 408 and closes when a body trickles in past requestTimeout; the handler sees the cancel', async () => {
    const { server, finals } = kittsServer({
      headersTimeout: 300,
      requestTimeout: 600,
      connectionsCheckingInterval: 50,
    });
    const s = await listen(server);
    try {
      const got = await trickle(
        s.port,
        'POST /echo HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 1000\r\n\r\n{"p":"',
        'x',
        50,
      );
      expect(got).to.match(/^HTTP\/1\.1 408 /);
      // The handler was reading the body: it ends with the cancel, answers nothing more, crashes not.
      await waitFor(() => finals.length === 1, { what: 'the finalizer' });
      expect(finals[0]!.statusCode).to.equal(499);
      expect((finals[0]!.error as { code?: string }).code).to.equal('CANCELED');
    } finally {
      await s.close();
    }
  });

  it('gRPC: refuses a message over max_receive_message_length (4 MiB by default) with RESOURCE_EXHAUSTED', async () => {
    const Echo = await echoClient();
    const server = new grpcjs.Server({ 'grpc.max_receive_message_length': 1024 });
    let calls = 0;
    server.addService(Echo.service, {
      Get: createUnaryHandler(
        async (_ctx, r: { key: string }) => {
          calls++;
          return { key: r.key.slice(0, 4), served_by: 's', n: 0 };
        },
        (_ctx, m: { key: string }) => m,
        (_ctx, r: unknown) => r,
      ),
    });
    const s = await serve({ server, signals: false, drainTimeout: 200 });
    const c = new Echo(s.address, grpcjs.credentials.createInsecure()) as unknown as grpcjs.Client & {
      Get(r: unknown, cb: (e: grpcjs.ServiceError | null, v?: unknown) => void): void;
    };
    const get = (key: string) =>
      new Promise<grpcjs.ServiceError | null>((resolve) => c.Get({ key, n: 0 }, (e) => resolve(e)));
    try {
      expect(await get('k'.repeat(100))).to.equal(null);
      expect((await get('k'.repeat(2048)))?.code).to.equal(grpcjs.status.RESOURCE_EXHAUSTED);
      expect(calls).to.equal(1);
    } finally {
      c.close();
      await s.close();
    }
  });
});
