// When one instance is ejected (its breaker is open), its share must spread over the
// others, not land on its neighbour in id order.
import { background } from '@kitts/endpoint';
import type { EndpointSet, Entry } from '@kitts/sd';
import { expect } from 'chai';
import type { Balancer, EndpointSource } from '../src/index.js';
import { leastRequest, peakEwma, random, roundRobin, weightedRandom } from '../src/index.js';

function source(n: number, down: string): EndpointSource<unknown, unknown> {
  const entries: Entry<unknown, unknown>[] = Array.from({ length: n }, (_, i) => {
    const id = `i${i}`;
    return {
      instance: { id, address: `10.0.0.${i}:80` },
      endpoint: async () => id,
      available: () => id !== down,
    };
  });
  const set: EndpointSet<unknown, unknown> = { version: 1, entries };
  return { current: () => set };
}

function shares(b: Balancer<unknown, unknown>, picks: number): Map<string, number> {
  const counts = new Map<string, number>();
  for (let k = 0; k < picks; k++) {
    const id = b.pick(background(), undefined).instance.id;
    counts.set(id, (counts.get(id) ?? 0) + 1);
  }
  return new Map([...counts].map(([id, c]) => [id, c / picks]));
}

describe('ejection spreads the ejected instance share evenly', () => {
  const n = 5;
  const picks = 40_000;
  const cases: [string, (s: EndpointSource<unknown, unknown>) => Balancer<unknown, unknown>][] = [
    ['roundRobin', (s) => roundRobin(s, { start: 0 })],
    ['random', (s) => random(s, { seed: 7 })],
    ['weightedRandom', (s) => weightedRandom(s, { seed: 7 })],
    ['leastRequest', (s) => leastRequest(s, { seed: 7 })],
    ['peakEwma', (s) => peakEwma(s, { seed: 7, now: () => 0 })],
  ];
  for (const [name, make] of cases) {
    it(`${name}: each of the 4 others gets about 1/4, the ejected one none`, () => {
      const have = shares(make(source(n, 'i2')), picks);
      expect(have.get('i2') ?? 0).to.equal(0);
      for (const id of ['i0', 'i1', 'i3', 'i4']) expect(have.get(id), id).to.be.within(0.22, 0.28);
    });
  }
});
