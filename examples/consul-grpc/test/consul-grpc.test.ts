import { assertNoLeaks, baseline } from '@kitts/testkit';
import { expect } from 'chai';
// The Consul double is a test fixture of @kitts/sd-consul (not shipped): no Consul agent
// can be installed where this suite runs. It runs gRPC checks the way an agent does.
import { ConsulDouble } from '../../../packages/sd-consul/test/double/consul-double.js';
import { type ConsulGrpcResult, main } from '../src/main.js';

function expectOutcome(have: ConsulGrpcResult): void {
  expect(have.instances.map((i) => i.id)).to.deep.equal(['add-1', 'add-2', 'add-3']);

  expect(have.allServing.rotation).to.deep.equal(['add-1', 'add-2', 'add-3']);
  expect(have.allServing.sumsCorrect).to.equal(true);
  expect(new Set(have.allServing.answeredBy)).to.deep.equal(new Set(['add-1', 'add-2', 'add-3']));

  // NOT_SERVING: out of rotation, and not one call reached it.
  expect(have.add2NotServing.rotation).to.deep.equal(['add-1', 'add-3']);
  expect(have.add2NotServing.callsAdd2Answered).to.equal(0);
  expect(have.add2NotServing.answeredBy).to.not.include('add-2');
  expect(new Set(have.add2NotServing.answeredBy)).to.deep.equal(new Set(['add-1', 'add-3']));
  expect(have.add2NotServing.sumsCorrect).to.equal(true);

  // SERVING again: back in rotation and answering.
  expect(have.add2ServingAgain.rotation).to.deep.equal(['add-1', 'add-2', 'add-3']);
  expect(have.add2ServingAgain.answeredBy).to.include('add-2');
  expect(have.add2ServingAgain.sumsCorrect).to.equal(true);
}

describe('example: consul-grpc', function () {
  this.timeout(30_000);

  it('takes an instance whose health service says NOT_SERVING out of rotation (memory registry, in-process checks)', async () => {
    const base = await baseline();
    const lines: string[] = [];
    const have = await main({ out: (l) => lines.push(l) });
    expectOutcome(have);
    expect(lines.join('\n')).to.include('add-2 answered 0 of these 6 calls');
    await assertNoLeaks(base, { settleMs: 200 });
  });

  it('does the same through Consul: the agent (double) runs the gRPC checks, the client asks for passing instances', async () => {
    const consul = await ConsulDouble.start();
    // After the double: what main() opens (channels, the Consul client's keep-alive
    // sockets) must all be closed when it returns.
    const base = await baseline();
    try {
      const have = await main({ registry: `consul://127.0.0.1:${consul.port}`, out: () => {} });
      expectOutcome(have);
      // Three registrations with a check, health queries filtered on ?passing, and
      // everything deregistered at the end.
      const registered = consul.requests.filter((r) => r.path === '/v1/agent/service/register');
      expect(registered).to.have.length(3);
      const queries = consul.healthQueries('add');
      expect(queries.length).to.be.greaterThan(0);
      for (const q of queries) expect(q.query.has('passing')).to.equal(true);
      expect([...consul.state.services.values()]).to.deep.equal([]);
      await assertNoLeaks(base, { settleMs: 300 });
    } finally {
      await consul.close();
    }
  });
});
