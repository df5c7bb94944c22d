// The short soak inside `npm test`: every scenario of `npm run soak` at a smaller scale
// (about a minute in all). A test fails when one of its "goal 0" figures is not 0, and
// its message is the scenario's whole table.
import { type EtcdServer, startEtcd } from '@kitts/testkit';
import { expect } from 'chai';
import {
  badInput,
  churn,
  Fleet,
  leaks,
  missedGoals,
  outage,
  plan,
  type ScenarioReport,
  sick,
  toMarkdown,
} from '../src/index.js';

const p = plan(40, 'short');

function expectGoals(reports: ScenarioReport | ScenarioReport[]): void {
  const list = Array.isArray(reports) ? reports : [reports];
  expect(missedGoals(list), `\n${toMarkdown(list)}`).to.deep.equal([]);
}

describe('soak, short version (npm run soak for the long one)', function () {
  this.timeout(120_000);
  let etcd: EtcdServer;
  let http: Fleet;
  let grpc: Fleet;

  before(async () => {
    etcd = await startEtcd();
    http = new Fleet({ transport: 'http', etcd: etcd.endpoint, prefix: '/soak-http/echo', ttl: 2 });
    grpc = new Fleet({ transport: 'grpc', etcd: etcd.endpoint, prefix: '/soak-grpc/echo', ttl: 2 });
  });

  after(async () => {
    await Promise.all([http?.stopAll(), grpc?.stopAll()]);
    await etcd?.stop();
  });

  it('loses no call while HTTP instances are SIGKILLed and replaced', async () => {
    expectGoals(
      await churn({ transport: 'http', etcd, fleet: http, dir: 'soak-http', rate: p.rate, ...p.churn }),
    );
  });

  it('keeps calls flowing through a 10 s etcd outage and finds an instance added during it', async () => {
    expectGoals(await outage({ etcd, fleet: http, dir: 'soak-http', rate: p.rate, ...p.outage }));
  });

  it('routes around a failing and a slow instance (shares reported, goal-0 figures checked)', async () => {
    const r = await sick({ etcd, fleet: http, dir: 'soak-http', rate: p.rate, ...p.sick });
    await http.stopAll();
    expectGoals(r);
    expect(r.table?.[0]).to.deep.equal([
      '',
      'peak-EWMA + breakers',
      'round robin + breakers',
      'round robin, no breakers',
    ]);
  });

  it('loses no call while gRPC instances are SIGKILLed and replaced', async () => {
    const r = await churn({
      transport: 'grpc',
      etcd,
      fleet: grpc,
      dir: 'soak-grpc',
      rate: p.rate,
      ...p.churn,
    });
    await grpc.stopAll();
    expectGoals(r);
  });

  it('answers malformed HTTP requests and gRPC calls without a 5xx, a crash or a leak', async () => {
    const reports = await badInput({ httpCount: p.badInput.http, grpcCount: p.badInput.grpc });
    expectGoals(reports);
    // Every category was exercised.
    for (const r of reports)
      for (const row of r.table!.slice(1)) expect(Number(row[1]), row[0]).to.be.greaterThan(0);
  });

  it('leaves no handle behind after create / use / close cycles', async () => {
    expectGoals(await leaks({ cycles: p.leakCycles, etcd }));
  });
});
