// sd-consul with a Consul ACL token: sent on every request (as the X-Consul-Token header,
// never in a URL, where access logs would keep it), and never written to a log line or
// carried by an error, even when the agent quotes it back in a refusal.

import type { InstancerEvent } from '@kitts/sd';
import { consulInstancer, consulRegistrar } from '@kitts/sd-consul';
import { assertNoLeaks, baseline, waitFor } from '@kitts/testkit';
import { expect } from 'chai';
import Consul from 'consul';
import { AclAgent } from './consul-acl-agent.js';
import { capturedLogger, expectNoSecret, exposed } from './secrets.js';

const TOKEN = 'b9f3c2d4-acl-token-7e1a-5c8f0d2b6a93';
const WRONG = '0d4e2f1a-wrong-token-9b8c-7a6d5e4f3c2b';

describe('Consul ACL token through sd-consul', function () {
  this.timeout(20_000);

  it('sends the token on every request, as a header and never in a URL, and logs none of it', async () => {
    const base = await baseline();
    const agent = await AclAgent.start(TOKEN);
    const { lines, logger } = capturedLogger();
    const client = new Consul({ host: '127.0.0.1', port: agent.port });
    const instancer = consulInstancer(client, { service: 'echo', token: TOKEN, wait: '1s', logger });
    const registrar = consulRegistrar(client, {
      service: 'echo',
      id: 'echo-1',
      address: '127.0.0.1',
      port: 8080,
      token: TOKEN,
      check: { ttl: '3s', heartbeat: '100ms' },
      logger,
    });
    const events: InstancerEvent[] = [];
    const off = instancer.subscribe((e) => events.push(e));
    await registrar.register();
    await waitFor(() => events.at(-1)?.instances.some((i) => i.id === 'echo-1'), { what: 'echo-1' });
    await waitFor(
      () => agent.requests.filter((r) => r.path.startsWith('/v1/agent/check/pass/')).length >= 3,
      {
        what: 'three heartbeats',
      },
    );
    await registrar.deregister();
    await waitFor(() => events.at(-1)?.instances.length === 0, { what: 'echo-1 to go' });
    off();
    await instancer.close();
    await agent.close();

    const kinds = new Set(agent.requests.map((r) => `${r.method} ${r.path.replace(/[^/]+$/, ':x')}`));
    expect([...kinds].sort()).to.deep.equal([
      'GET /v1/health/service/:x',
      'PUT /v1/agent/check/pass/:x',
      'PUT /v1/agent/service/:x',
      'PUT /v1/agent/service/deregister/:x',
    ]);
    for (const r of agent.requests) {
      expect(r.header, `${r.method} ${r.path} carried no token header`).to.equal(TOKEN);
      expect(r.query, `${r.method} ${r.path} has the token in its URL`).not.to.contain(TOKEN);
    }
    expectNoSecret('the logs', lines.join('\n'), [TOKEN]);
    await assertNoLeaks(base, { settleMs: 200 });
  });

  it('keeps a refused token out of errors and logs, even when the agent quotes it back', async () => {
    const agent = await AclAgent.start(TOKEN, { echoToken: true });
    const { lines, logger } = capturedLogger();
    const client = new Consul({ host: '127.0.0.1', port: agent.port });
    try {
      const registrar = consulRegistrar(client, {
        service: 'echo',
        id: 'echo-2',
        address: '127.0.0.1',
        port: 8081,
        token: WRONG,
        logger,
      });
      const err = await registrar.register().then(
        () => undefined,
        (e: unknown) => e,
      );
      expect(err, 'registered with a wrong token').to.be.instanceOf(Error);
      expect((err as { status?: number }).status).to.equal(403);
      expect(String(err)).to.match(/Permission denied/);

      const instancer = consulInstancer(client, {
        service: 'echo',
        token: WRONG,
        wait: '1s',
        logger,
        backoff: { initial: 20, max: 50 },
      });
      const events: InstancerEvent[] = [];
      const off = instancer.subscribe((e) => events.push(e));
      await waitFor(() => events.some((e) => e.error !== undefined), { what: 'an error event' });
      off();
      await instancer.close();
      await registrar.close();

      // The agent did quote it: the redaction is what kept it out.
      expect(agent.requests.every((r) => r.header === WRONG)).to.equal(true);
      const errors = [err, ...events.filter((e) => e.error).map((e) => e.error)];
      for (const e of errors) expectNoSecret('an error', exposed(e), [WRONG, TOKEN]);
      expect(lines.length, 'the instancer logged its failures').to.be.greaterThan(0);
      expectNoSecret('the logs', lines.join('\n'), [WRONG, TOKEN]);
    } finally {
      await agent.close();
    }
  });
});
