// TLS and mutual TLS for the HTTP transport: a kitts handler on node:https, a
// serviceClient whose undici pools carry the TLS `connect` options, and certificates made
// by openssl for this run. Refusals are asserted by their TLS reason, not just "it failed".
import { createServer } from 'node:https';
import type { TLSSocket } from 'node:tls';
import { type Served, serve, serviceClient } from '@kitts/client';
import { http } from '@kitts/client/http';
import { background, type Context } from '@kitts/endpoint';
import { assertNoLeaks, baseline } from '@kitts/testkit';
import { createHandler, createRouter, encodeJSON } from '@kitts/transport-http';
import { expect } from 'chai';
import { createPki, type Pki, type TlsFiles } from '../src/index.js';
import { exposed } from './secrets.js';

/** Node's codes for a certificate chain that does not end at a trusted CA. */
const UNTRUSTED = [
  'UNABLE_TO_VERIFY_LEAF_SIGNATURE',
  'SELF_SIGNED_CERT_IN_CHAIN',
  'UNABLE_TO_GET_ISSUER_CERT_LOCALLY',
];

interface Who {
  client: string;
}

describe('HTTP transport over TLS and mutual TLS', function () {
  this.timeout(30_000);
  let pki: Pki;

  before(async () => {
    pki = await createPki();
  });

  after(async () => {
    await pki?.remove();
  });

  /** A kitts server on node:https answering who the client is (its certificate's CN). */
  let hits = 0;
  async function secureServer(o: { cert: TlsFiles; requireClientCert: boolean }): Promise<Served> {
    hits = 0;
    const peers = new WeakMap<Context, string>();
    const who = createHandler(
      async (ctx): Promise<Who> => {
        hits++;
        return { client: peers.get(ctx) ?? 'anonymous' };
      },
      () => undefined,
      encodeJSON,
      {
        before: [
          (ctx, req) => {
            const cert = (req.socket as TLSSocket).getPeerCertificate();
            if (cert?.subject?.CN !== undefined) peers.set(ctx, String(cert.subject.CN));
          },
        ],
      },
    );
    const server = createServer(
      {
        cert: o.cert.cert,
        key: o.cert.key,
        ca: [pki.ca.cert],
        requestCert: o.requireClientCert,
        rejectUnauthorized: o.requireClientCert,
        minVersion: 'TLSv1.2',
      },
      createRouter([{ method: 'GET', path: '/who', handler: who }]),
    );
    return serve({ server, signals: false, drainTimeout: 200 });
  }

  /** A serviceClient with these TLS options on its pools; one attempt, no breaker. */
  function client(address: string, connect: { ca?: Buffer[]; cert?: Buffer; key?: Buffer }) {
    return serviceClient({
      service: 'who',
      discovery: `static://${address}`,
      transport: http({
        methods: { who: { method: 'GET', path: '/who' } },
        pool: { scheme: 'https', connect: { ...connect, servername: 'localhost' } },
      }),
      retry: false,
      breaker: false,
      timeout: 5000,
    });
  }

  async function call(address: string, connect: { ca?: Buffer[]; cert?: Buffer; key?: Buffer }) {
    const c = client(address, connect);
    try {
      return (await c.who(background(), {})) as Who;
    } finally {
      await c.close();
    }
  }

  it('serves a client that trusts the CA over TLS (no client certificate asked)', async () => {
    const base = await baseline();
    const s = await secureServer({ cert: pki.ca.server, requireClientCert: false });
    const have = await call(s.address, { ca: [pki.ca.cert] });
    expect(have).to.deep.equal({ client: 'anonymous' });
    await s.close();
    await assertNoLeaks(base, { settleMs: 100 });
  });

  it('with mutual TLS serves a client whose certificate comes from the CA, and knows who it is', async () => {
    const base = await baseline();
    const s = await secureServer({ cert: pki.ca.server, requireClientCert: true });
    const have = await call(s.address, {
      ca: [pki.ca.cert],
      cert: pki.ca.client.cert,
      key: pki.ca.client.key,
    });
    expect(have).to.deep.equal({ client: 'kitts-client' });
    await s.close();
    await assertNoLeaks(base, { settleMs: 100 });
  });

  it('with mutual TLS refuses a client without a certificate', async () => {
    const s = await secureServer({ cert: pki.ca.server, requireClientCert: true });
    try {
      const err = await call(s.address, { ca: [pki.ca.cert] }).then(
        () => undefined,
        (e: unknown) => e,
      );
      expect(err, 'the call succeeded').to.be.instanceOf(Error);
      expect((err as { code?: string }).code).to.equal('CONNECTION');
      // TLS 1.3 reports the refusal as the server's alert; TLS 1.2 as a reset handshake.
      expect(exposed(err)).to.match(
        /certificate required|alert number 116|ECONNRESET|socket hang up|other side closed/i,
      );
      expect(hits, 'requests that reached the handler').to.equal(0);
    } finally {
      await s.close();
    }
  });

  it('with mutual TLS refuses a client whose certificate comes from another CA', async () => {
    const s = await secureServer({ cert: pki.ca.server, requireClientCert: true });
    try {
      const err = await call(s.address, {
        ca: [pki.ca.cert],
        cert: pki.rogue.client.cert,
        key: pki.rogue.client.key,
      }).then(
        () => undefined,
        (e: unknown) => e,
      );
      expect(err, 'the call succeeded').to.be.instanceOf(Error);
      expect((err as { code?: string }).code).to.equal('CONNECTION');
      expect(exposed(err)).to.match(
        /unknown ca|alert number 48|ECONNRESET|socket hang up|other side closed/i,
      );
      expect(hits, 'requests that reached the handler').to.equal(0);
    } finally {
      await s.close();
    }
  });

  it('refuses a server whose certificate it cannot trust (another CA)', async () => {
    const s = await secureServer({ cert: pki.rogue.server, requireClientCert: false });
    try {
      const err = await call(s.address, { ca: [pki.ca.cert] }).then(
        () => undefined,
        (e: unknown) => e,
      );
      expect(err, 'the call succeeded').to.be.instanceOf(Error);
      // Node's own TLS error, not wrapped in a ConnectionError (see docs/reliability.md).
      expect((err as { code?: string }).code).to.be.oneOf(UNTRUSTED);
      expect(hits, 'requests that reached the handler').to.equal(0);
    } finally {
      await s.close();
    }
  });

  it('refuses a server that is trusted by nobody it knows (no CA given: the system roots)', async () => {
    const s = await secureServer({ cert: pki.ca.server, requireClientCert: false });
    try {
      const err = await call(s.address, {}).then(
        () => undefined,
        (e: unknown) => e,
      );
      expect(err, 'the call succeeded').to.be.instanceOf(Error);
      expect((err as { code?: string }).code).to.be.oneOf(UNTRUSTED);
      expect(hits, 'requests that reached the handler').to.equal(0);
    } finally {
      await s.close();
    }
  });
});
