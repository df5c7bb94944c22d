// The etcd adapters against an etcd that serves clients over TLS only and has
// authentication on: they connect with the CA and a user's password, and a wrong
// password or an untrusted server is refused without the password showing anywhere.

import type { InstancerEvent } from '@kitts/sd';
import { etcdInstancer, etcdRegistrar } from '@kitts/sd-etcd';
import { assertNoLeaks, baseline, type EtcdServer, startEtcd, waitFor } from '@kitts/testkit';
import { expect } from 'chai';
import type { IOptions } from 'etcd3';
import { createPki, type Pki } from '../src/index.js';
import { capturedLogger, expectNoSecret, exposed } from './secrets.js';

const PASSWORD = 'etcd-root-5f2c9a71';
const WRONG = 'not-the-password-0b7e';

describe('etcd with TLS and a password: the sd-etcd adapters with credentials', function () {
  this.timeout(60_000);
  let pki: Pki;
  let etcd: EtcdServer;

  before(async () => {
    pki = await createPki();
    etcd = await startEtcd({
      tls: { certFile: pki.ca.server.certFile, keyFile: pki.ca.server.keyFile, caFile: pki.ca.certFile },
      rootPassword: PASSWORD,
    });
  });

  after(async () => {
    await etcd?.stop();
    await pki?.remove();
  });

  const options = (o: Partial<IOptions> = {}): IOptions => ({
    // By name: etcd3 dials its authentication channel without `grpcOptions`, and an IP
    // there is sent as the TLS server name, which RFC 6066 forbids (Node warns DEP0123).
    hosts: etcd.endpoint.replace('127.0.0.1', 'localhost'),
    credentials: { rootCertificate: pki.ca.cert },
    auth: { username: 'root', password: PASSWORD },
    dialTimeout: 2000,
    ...o,
  });

  const last = (events: InstancerEvent[]) => events[events.length - 1];

  it('registers and discovers over TLS as an authenticated user', async () => {
    expect(etcd.endpoint).to.match(/^https:\/\//);
    const base = await baseline();
    const { lines, logger } = capturedLogger();
    const instancer = etcdInstancer(options(), { prefix: '/secure/echo', logger });
    const registrar = etcdRegistrar(options(), {
      prefix: '/secure/echo',
      instance: { id: 'a', address: '10.0.0.1:80' },
      ttl: 5,
      logger,
    });
    const events: InstancerEvent[] = [];
    const off = instancer.subscribe((e) => events.push(e));
    await registrar.register();
    await waitFor(() => last(events)?.instances.some((i) => i.id === 'a'), { what: 'instance a' });
    expect(await etcd.etcdctl('get', '--prefix', '/secure/echo', '--keys-only')).to.contain('/secure/echo/a');
    await registrar.deregister();
    await waitFor(() => last(events)?.instances.length === 0, { what: 'instance a to go' });
    off();
    await registrar.close();
    await instancer.close();
    expectNoSecret('the logs', lines.join('\n'), [PASSWORD]);
    // etcd3 1.1.2 re-arms a keepalive timer (up to the TTL) when a keepalive answer is in
    // flight at revoke(); it then ends on its own. Wait for that, not longer.
    await waitFor(() => assertNoLeaks(base, { settleMs: 50 }).then(() => true), {
      timeout: 7_000,
      interval: 100,
      what: 'no handles left after close()',
    });
  });

  it('is refused with a wrong password, and the password is in no error nor log line', async () => {
    const { lines, logger } = capturedLogger();
    const bad = options({ auth: { username: 'root', password: WRONG } });
    const registrar = etcdRegistrar(bad, {
      prefix: '/secure/echo',
      instance: { id: 'b', address: '10.0.0.2:80' },
      ttl: 5,
      logger,
    });
    const err = await registrar.register().then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(err, 'registered with a wrong password').to.be.instanceOf(Error);
    expect(String(err)).to.match(/auth|password|invalid user/i);
    await registrar.close();

    const instancer = etcdInstancer(bad, {
      prefix: '/secure/echo',
      logger,
      retry: { initial: 50, max: 200 },
    });
    const events: InstancerEvent[] = [];
    const off = instancer.subscribe((e) => events.push(e));
    await waitFor(() => events.some((e) => e.error !== undefined), { what: 'an error event' });
    off();
    await instancer.close();

    const errors = [err, ...events.filter((e) => e.error).map((e) => e.error)];
    for (const e of errors) expectNoSecret('an error', exposed(e), [WRONG, PASSWORD]);
    expectNoSecret('the logs', lines.join('\n'), [WRONG, PASSWORD]);
    expect(await etcd.etcdctl('get', '--prefix', '/secure/echo', '--keys-only')).not.to.contain(
      '/secure/echo/b',
    );
  });

  it('refuses an etcd whose certificate it cannot verify (no CA: the system roots)', async () => {
    const registrar = etcdRegistrar(options({ credentials: undefined }), {
      prefix: '/secure/echo',
      instance: { id: 'c', address: '10.0.0.3:80' },
      ttl: 5,
    });
    const err = await registrar.register().then(
      () => undefined,
      (e: unknown) => e,
    );
    await registrar.close();
    expect(err, 'registered with an unverified server').to.be.instanceOf(Error);
    expectNoSecret('the error', exposed(err), [PASSWORD]);
  });

  it('gets nothing from it in plain text', async () => {
    // Without credentials etcd3 speaks plain text (with them it uses TLS whatever the URL says).
    const plain = options({ hosts: etcd.endpoint.replace('https://', 'http://'), credentials: undefined });
    const registrar = etcdRegistrar(plain, {
      prefix: '/secure/echo',
      instance: { id: 'd', address: '10.0.0.4:80' },
      ttl: 5,
    });
    const err = await registrar.register().then(
      () => undefined,
      (e: unknown) => e,
    );
    await registrar.close();
    expect(err, 'registered in plain text').to.be.instanceOf(Error);
    expect(await etcd.etcdctl('get', '--prefix', '/secure/echo', '--keys-only')).to.equal('');
  });
});
