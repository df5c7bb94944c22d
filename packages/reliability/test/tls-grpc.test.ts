// TLS and mutual TLS for the gRPC transport: a kitts unary handler on a grpc-js server
// with SSL credentials, served by serve(), and a serviceClient with channel credentials.
import * as grpcjs from '@grpc/grpc-js';
import { type Served, serve, serviceClient } from '@kitts/client';
import { grpc } from '@kitts/client/grpc';
import { background, type Context } from '@kitts/endpoint';
import { assertNoLeaks, baseline } from '@kitts/testkit';
import { createUnaryHandler } from '@kitts/transport-grpc';
import { expect } from 'chai';
import { echoClient } from '../src/echo.js';
import { createPki, type Pki, type TlsFiles } from '../src/index.js';
import { exposed } from './secrets.js';

describe('gRPC transport over TLS and mutual TLS', function () {
  this.timeout(30_000);
  let pki: Pki;
  let Echo: grpcjs.ServiceClientConstructor;
  let hits = 0;

  before(async () => {
    pki = await createPki();
    Echo = await echoClient();
  });

  after(async () => {
    await pki?.remove();
  });

  /** Answers with the client certificate's CN in `served_by`. */
  async function secureServer(o: { cert: TlsFiles; requireClientCert: boolean }): Promise<Served> {
    hits = 0;
    const peers = new WeakMap<Context, string>();
    const server = new grpcjs.Server();
    server.addService(Echo.service, {
      Get: createUnaryHandler(
        async (ctx, req: { key: string }) => {
          hits++;
          return { key: req.key, served_by: peers.get(ctx) ?? 'anonymous', n: 0 };
        },
        (_ctx, m: { key: string }) => m,
        (_ctx, r: unknown) => r,
        {
          before: (ctx, _md, call) => {
            const cert = call.getAuthContext?.()?.sslPeerCertificate;
            if (cert?.subject?.CN !== undefined) peers.set(ctx, String(cert.subject.CN));
          },
        },
      ),
    });
    return serve({
      server,
      credentials: grpcjs.ServerCredentials.createSsl(
        pki.ca.cert,
        [{ private_key: o.cert.key, cert_chain: o.cert.cert }],
        o.requireClientCert,
      ),
      signals: false,
      drainTimeout: 200,
    });
  }

  async function call(address: string, credentials: grpcjs.ChannelCredentials) {
    const c = serviceClient({
      service: 'echo',
      discovery: `static://${address}`,
      transport: grpc({
        client: Echo,
        methods: { Get: { idempotent: true } },
        credentials,
        // Check the certificate for "localhost": grpc-js would otherwise send the IP as the
        // TLS server name, which RFC 6066 forbids (Node warns DEP0123).
        channelOptions: {
          'grpc.ssl_target_name_override': 'localhost',
          'grpc.default_authority': 'localhost',
        },
      }),
      retry: false,
      breaker: false,
      timeout: 5000,
    });
    try {
      return (await c.Get(background(), { key: 'k', n: 1 })) as { served_by: string };
    } finally {
      await c.close();
    }
  }

  const failure = (p: Promise<unknown>) =>
    p.then(
      () => undefined,
      (e: unknown) => e,
    );

  it('serves a client that trusts the CA over TLS', async () => {
    const base = await baseline();
    const s = await secureServer({ cert: pki.ca.server, requireClientCert: false });
    const have = await call(s.address, grpcjs.credentials.createSsl(pki.ca.cert));
    expect(have.served_by).to.equal('anonymous');
    await s.close();
    await assertNoLeaks(base, { settleMs: 200 });
  });

  it('with mutual TLS serves a client whose certificate comes from the CA, and knows who it is', async () => {
    const base = await baseline();
    const s = await secureServer({ cert: pki.ca.server, requireClientCert: true });
    const have = await call(
      s.address,
      grpcjs.credentials.createSsl(pki.ca.cert, pki.ca.client.key, pki.ca.client.cert),
    );
    expect(have.served_by).to.equal('kitts-client');
    await s.close();
    await assertNoLeaks(base, { settleMs: 200 });
  });

  it('with mutual TLS refuses a client without a certificate', async () => {
    const s = await secureServer({ cert: pki.ca.server, requireClientCert: true });
    try {
      const err = await failure(call(s.address, grpcjs.credentials.createSsl(pki.ca.cert)));
      expect(err, 'the call succeeded').to.be.instanceOf(Error);
      expect((err as { code?: number }).code).to.equal(grpcjs.status.UNAVAILABLE);
      expect(hits, 'calls that reached the handler').to.equal(0);
    } finally {
      await s.close();
    }
  });

  it('with mutual TLS refuses a client whose certificate comes from another CA', async () => {
    const s = await secureServer({ cert: pki.ca.server, requireClientCert: true });
    try {
      const err = await failure(
        call(
          s.address,
          grpcjs.credentials.createSsl(pki.ca.cert, pki.rogue.client.key, pki.rogue.client.cert),
        ),
      );
      expect((err as { code?: number }).code).to.equal(grpcjs.status.UNAVAILABLE);
      expect(hits, 'calls that reached the handler').to.equal(0);
    } finally {
      await s.close();
    }
  });

  it('refuses a server whose certificate comes from a CA it does not trust', async () => {
    const s = await secureServer({ cert: pki.rogue.server, requireClientCert: false });
    try {
      const err = await failure(call(s.address, grpcjs.credentials.createSsl(pki.ca.cert)));
      expect((err as { code?: number }).code).to.equal(grpcjs.status.UNAVAILABLE);
      expect(exposed(err)).to.match(/certificate|SSL|handshake|TLS/i);
      expect(hits, 'calls that reached the handler').to.equal(0);
    } finally {
      await s.close();
    }
  });

  it('a plaintext client gets nothing from a TLS server', async () => {
    const s = await secureServer({ cert: pki.ca.server, requireClientCert: false });
    try {
      const err = await failure(call(s.address, grpcjs.credentials.createInsecure()));
      expect((err as { code?: number }).code).to.equal(grpcjs.status.UNAVAILABLE);
      expect(hits, 'calls that reached the handler').to.equal(0);
    } finally {
      await s.close();
    }
  });
});
