// bench/sd-registries: what one registry answer costs the Consul and Eureka adapters —
// JSON parsing (paid by any client) against parsing plus mapping to kitts instances, plus
// the broadcaster's comparison that drops an identical repeat (the common blocking-query
// wake-up). This runs once per answer from the registry, never per call.
import { InstanceBroadcaster } from '@kitts/sd';
import { toInstances as fromConsul } from '@kitts/sd-consul';
import { toInstances as fromEureka } from '@kitts/sd-eureka';
import { group } from './harness.js';

const N = 100;

function consulAnswer(n: number): string {
  const entries = [];
  for (let i = 0; i < n; i++) {
    const node = `node-${i}`;
    entries.push({
      Node: {
        ID: `uuid-${i}`,
        Node: node,
        Address: `10.0.${i >> 8}.${i & 255}`,
        Datacenter: 'dc1',
        Meta: {},
      },
      Service: {
        ID: `search-${String(i).padStart(3, '0')}`,
        Service: 'search',
        Tags: ['api', 'v2'],
        Address: '',
        Port: 8080,
        Meta: { zone: `z${i % 3}` },
        Weights: { Passing: 10, Warning: 1 },
      },
      Checks: [
        { Node: node, CheckID: 'serfHealth', Status: 'passing', ServiceID: '' },
        { Node: node, CheckID: `service:search-${i}`, Status: 'passing', ServiceID: `search-${i}` },
      ],
    });
  }
  return JSON.stringify(entries);
}

function eurekaAnswer(n: number): string {
  const instance = [];
  for (let i = 0; i < n; i++) {
    instance.push({
      instanceId: `search-${String(i).padStart(3, '0')}`,
      hostName: `search-${i}.local`,
      app: 'SEARCH',
      ipAddr: `10.0.${i >> 8}.${i & 255}`,
      status: 'UP',
      port: { $: 8080, '@enabled': 'true' },
      securePort: { $: 443, '@enabled': 'false' },
      metadata: { weight: '10', zone: `z${i % 3}` },
      leaseInfo: { renewalIntervalInSecs: 30, durationInSecs: 90 },
    });
  }
  return JSON.stringify({ application: { name: 'SEARCH', instance } });
}

export async function run(): Promise<void> {
  const consul = consulAnswer(N);
  const consulB = new InstanceBroadcaster();
  consulB.update(fromConsul(JSON.parse(consul), ['v2']));
  await group(
    `Consul: one health answer of ${N} instances`,
    [
      { name: 'JSON.parse (baseline)', fn: () => JSON.parse(consul) },
      { name: 'parse + toInstances', fn: () => fromConsul(JSON.parse(consul), ['v2']) },
      {
        name: 'parse + map + drop identical repeat',
        fn: () => consulB.update(fromConsul(JSON.parse(consul), ['v2'])),
      },
    ],
    { batch: 500, rounds: 7 },
  );

  const eureka = eurekaAnswer(N);
  const eurekaB = new InstanceBroadcaster();
  eurekaB.update(fromEureka(JSON.parse(eureka), 'weight'));
  await group(
    `Eureka: one /apps/{APP} answer of ${N} instances`,
    [
      { name: 'JSON.parse (baseline)', fn: () => JSON.parse(eureka) },
      { name: 'parse + toInstances', fn: () => fromEureka(JSON.parse(eureka), 'weight') },
      {
        name: 'parse + map + drop identical repeat',
        fn: () => eurekaB.update(fromEureka(JSON.parse(eureka), 'weight')),
      },
    ],
    { batch: 500, rounds: 7 },
  );
}
