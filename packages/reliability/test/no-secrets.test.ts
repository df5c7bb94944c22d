// Error bodies and logs carry no credentials, tokens or stack traces. Callers send an
// Authorization header and a password field to kitts servers (HTTP and gRPC) whose
// endpoints fail in every way (a thrown Error, a TypeError from a bug, a rejected field,
// a deadline), and call instances that fail, refuse or are down, with the logging
// middleware and the servers' error handlers writing to @kitts/log. Then a grep.
import { createServer } from 'node:http';
import * as grpcjs from '@grpc/grpc-js';
import { serve, serviceClient } from '@kitts/client';
import { grpc } from '@kitts/client/grpc';
import { http } from '@kitts/client/http';
import { background, type Context, sleep, withTimeout } from '@kitts/endpoint';
import { logging } from '@kitts/log';
import { freePort } from '@kitts/testkit';
import { createUnaryHandler } from '@kitts/transport-grpc';
import { createHandler, createRouter, encodeJSON, jsonBody } from '@kitts/transport-http';
import { expect } from 'chai';
import * as t from 'io-ts';
import { z } from 'zod';
import { echoClient } from '../src/echo.js';
import { capturedLogger, expectNoSecret, expectNoStack, exposed } from './secrets.js';

const BEARER = 'eyJhbGciOi.bearer-secret-4f7d2c';
const PASSWORD = 'hunter2-password-secret-91ab';
const SECRETS = [BEARER, PASSWORD];

/** What every failure mode of a server endpoint looks like from the outside. */
const failures: Record<string, (ctx: Context) => Promise<unknown>> = {
  thrown: async () => {
    throw new Error('connection to db-primary.internal:5432 failed');
  },
  bug: async () => (undefined as unknown as { x: { y: number } }).x.y,
  // Runs into the caller's deadline (x-request-timeout-ms), which the endpoint observes.
  slow: (ctx) => sleep(ctx, 2000),
};

describe('no credentials, tokens or stack traces in error bodies and logs', function () {
  this.timeout(20_000);

  it('HTTP: bodies of every failure are free of them, and so are the server and client logs', async () => {
    const server = capturedLogger();
    const errorHandler = (_ctx: Context, err: unknown) => server.logger.error({ err }, 'request failed');
    const routes = Object.entries(failures).map(([name, fail]) => ({
      method: 'POST',
      path: `/${name}`,
      handler: createHandler(fail, jsonBody(), encodeJSON, { errorHandler }),
    }));
    // A rejected password field, with either kind of schema the transport takes.
    const Login = t.type({
      user: t.string,
      password: t.refinement(t.string, (s) => s.length >= 40, 'LongPassword'),
    });
    const ZLogin = z.object({ user: z.string(), password: z.string().min(40) });
    routes.push(
      {
        method: 'POST',
        path: '/login-io-ts',
        handler: createHandler(async () => ({}), jsonBody(Login), encodeJSON, { errorHandler }),
      },
      {
        method: 'POST',
        path: '/login-zod',
        handler: createHandler(async () => ({}), jsonBody(ZLogin), encodeJSON, { errorHandler }),
      },
    );
    const s = await serve({ server: createServer(createRouter(routes)), signals: false, drainTimeout: 200 });
    const deadPort = await freePort();
    const client = capturedLogger();
    try {
      const bodies: string[] = [];
      for (const path of [...Object.keys(failures), 'login-io-ts', 'login-zod']) {
        const res = await fetch(`http://${s.address}/${path}`, {
          method: 'POST',
          headers: {
            authorization: `Bearer ${BEARER}`,
            'content-type': 'application/json',
            'x-request-timeout-ms': '200',
          },
          body: JSON.stringify({ user: 'ann', password: PASSWORD }),
        });
        const body = await res.text();
        expect(res.status, `${path}: ${body}`).to.be.oneOf(path.startsWith('login') ? [400] : [500, 504]);
        bodies.push(`${path} ${res.status} ${body}`);
      }
      for (const b of bodies) {
        expectNoSecret('an error body', b, SECRETS);
        expectNoStack('an error body', b);
      }
      // 5xx bodies say only what the status says.
      expect(bodies.filter((b) => b.includes(' 500 '))).to.have.length.greaterThan(0);
      for (const b of bodies.filter((x) => x.includes(' 500 '))) {
        expect(b).to.contain('"message":"Internal Server Error"');
        expect(b).not.to.contain('db-primary');
      }

      // A serviceClient with a credential header, logging every call, against the failing
      // server, a port nobody listens on, and an instance that hangs past the deadline.
      for (const [path, address] of [
        ['thrown', s.address],
        ['bug', s.address],
        ['thrown', `127.0.0.1:${deadPort}`],
        ['slow', s.address],
      ] as const) {
        const c = serviceClient({
          service: 'secrets',
          discovery: `static://${address}`,
          transport: http({
            methods: { call: { method: 'POST', path: `/${path}` } },
            client: { headers: { authorization: `Bearer ${BEARER}` } },
          }),
          middleware: [logging(client.logger, { method: `secrets.${path}` })],
          timeout: 500,
          logger: client.logger,
        });
        const [ctx, cancel] = withTimeout(background(), 500);
        const err = await c.call(ctx, { user: 'ann', password: PASSWORD }).then(
          () => undefined,
          (e: unknown) => e,
        );
        cancel();
        await c.close();
        expect(err, `${path} at ${address} succeeded`).to.be.instanceOf(Error);
        expectNoSecret(`the client's error for ${path}`, exposed(err), SECRETS);
      }
      expect(server.lines.length).to.be.greaterThan(0);
      expect(client.lines.length).to.be.greaterThan(0);
      for (const [who, lines] of [
        ['server', server.lines],
        ['client', client.lines],
      ] as const) {
        expectNoSecret(`the ${who} log`, lines.join('\n'), SECRETS);
        expectNoStack(`the ${who} log`, lines.join('\n'));
      }
    } finally {
      await s.close();
    }
  });

  it('gRPC: statuses of every failure are free of them, and so is the server log', async () => {
    const Echo = await echoClient();
    const log = capturedLogger();
    const server = new grpcjs.Server();
    const handler = (fail: (ctx: Context) => Promise<unknown>) =>
      createUnaryHandler(
        fail,
        (_ctx, m) => m,
        (_ctx, r) => r,
        {
          errorHandler: (_ctx, err) => log.logger.error({ err }, 'call failed'),
        },
      );
    const service = Echo.service;
    server.addService(service, { Get: handler(failures.thrown!) });
    const s = await serve({ server, signals: false, drainTimeout: 200 });
    const bug = new grpcjs.Server();
    bug.addService(service, { Get: handler(failures.bug!) });
    const s2 = await serve({ server: bug, signals: false, drainTimeout: 200 });
    try {
      for (const address of [s.address, s2.address]) {
        const c = serviceClient({
          service: 'echo',
          discovery: `static://${address}`,
          transport: grpc({ client: Echo, methods: { Get: { idempotent: false } } }),
          timeout: 2000,
        });
        const err = await c.Get(background(), { key: PASSWORD, n: 1 }).then(
          () => undefined,
          (e: unknown) => e,
        );
        await c.close();
        const details = String((err as { details?: string }).details);
        expect((err as { code?: number }).code).to.be.oneOf([grpcjs.status.UNKNOWN, grpcjs.status.INTERNAL]);
        expect(details).not.to.contain('db-primary');
        expectNoSecret('the status details', details, SECRETS);
        expectNoStack('the status details', details);
      }
      expect(log.lines.length).to.equal(2);
      expectNoSecret('the server log', log.lines.join('\n'), SECRETS);
      expectNoStack('the server log', log.lines.join('\n'));
    } finally {
      await Promise.all([s.close(), s2.close()]);
    }
  });
});
