import type { Context } from '@kitts/endpoint';
import { background, type Endpoint, NoEndpointsError } from '@kitts/endpoint';
import { Endpointer, FixedInstancer, type Instancer, type InstancerListener, instanceKey } from '@kitts/sd';
import { expect } from 'chai';
import {
  type Balancer,
  balanced,
  type EndpointSource,
  jumpHash,
  leastRequest,
  maglev,
  peakEwma,
  random,
  ringHash,
  roundRobin,
  weightedRandom,
  weightedRoundRobin,
} from '../src/index.js';
import { entry, Source, switchable } from './fixtures.js';

const ctx = background();
const key = () => 'some-key';

/** Every balancer, built the same way, for the cases they all share. */
const all: Record<string, (s: EndpointSource<unknown, string>) => Balancer<unknown, string>> = {
  random: (s) => random(s, { seed: 1 }),
  roundRobin: (s) => roundRobin(s),
  weightedRoundRobin: (s) => weightedRoundRobin(s),
  weightedRandom: (s) => weightedRandom(s, { seed: 1 }),
  ringHash: (s) => ringHash(s, { key }),
  ketama: (s) => ringHash(s, { key, preset: 'ketama' }),
  maglev: (s) => maglev(s, { key, tableSize: 251 }),
  jumpHash: (s) => jumpHash(s, { key }),
  leastRequest: (s) => leastRequest(s, { seed: 1 }),
  peakEwma: (s) => peakEwma(s, { seed: 1, now: () => 0 }),
};

describe('round robin (go-kit TestRoundRobin)', () => {
  it('counts each of 3 endpoints in turn over 7 calls', async () => {
    const es = [entry('a'), entry('b'), entry('c')];
    const endpoint = balanced(roundRobin(new Source(es), { start: 0 }));
    const want = [
      [1, 0, 0],
      [1, 1, 0],
      [1, 1, 1],
      [2, 1, 1],
      [2, 2, 1],
      [2, 2, 2],
      [3, 2, 2],
    ];
    for (const w of want) {
      await endpoint(ctx, {});
      expect(es.map((e) => e.calls)).to.deep.equal(w);
    }
  });

  it('spreads 100 concurrent callers evenly (go-kit TestRoundRobinNoRace)', async () => {
    const es = [entry('a'), entry('b'), entry('c')];
    const endpoint = balanced(roundRobin(new Source(es)));
    const callers = Array.from({ length: 100 }, async () => {
      for (let i = 0; i < 30; i++) await endpoint(ctx, {});
    });
    await Promise.all(callers);
    expect(es.map((e) => e.calls)).to.deep.equal([1000, 1000, 1000]);
  });

  it('starts at a random position by default, so a fleet does not stampede one instance', () => {
    const s = new Source([entry('a'), entry('b'), entry('c')]);
    const firsts = new Set(Array.from({ length: 40 }, () => roundRobin(s).pick(ctx, {}).instance.id));
    expect(firsts.size).to.be.greaterThan(1);
  });

  it('rejects a bad start', () => {
    expect(() => roundRobin(new Source(), { start: -1 })).to.throw(TypeError, /start/);
  });
});

describe('random (go-kit TestRandom)', () => {
  it('spreads 1M seeded picks over 7 endpoints within 1%', () => {
    const n = 7;
    const es = Array.from({ length: n }, (_, i) => entry(`e${i}`));
    const b = random(new Source(es), { seed: 12345 });
    const counts = new Map<string, number>();
    const iterations = 1_000_000;
    for (let i = 0; i < iterations; i++) {
      const id = b.pick(ctx, {}).instance.id;
      counts.set(id, (counts.get(id) ?? 0) + 1);
    }
    const want = iterations / n;
    for (const e of es) expect(Math.abs(counts.get(e.instance.id)! - want)).to.be.at.most(want / 100);
  });

  it('gives the same sequence for the same seed', () => {
    const s = new Source(['a', 'b', 'c', 'd'].map((id) => entry(id)));
    const seq = (b: Balancer<unknown, string>) =>
      Array.from({ length: 20 }, () => b.pick(ctx, {}).instance.id);
    expect(seq(random(s, { seed: 'x' }))).to.deep.equal(seq(random(s, { seed: 'x' })));
  });
});

describe('every balancer', () => {
  for (const [name, make] of Object.entries(all)) {
    describe(name, () => {
      it('throws NoEndpointsError on an empty set (go-kit TestRoundRobinNoEndpoints)', () => {
        expect(() => make(new Source()).pick(ctx, {})).to.throw(NoEndpointsError);
      });

      it('reports a registry failure as NoEndpointsError whose cause is the registry error', () => {
        const failure = new Error('registry down');
        const source = {
          current: () => {
            throw failure;
          },
        };
        let have: unknown;
        try {
          make(source).pick(ctx, {});
        } catch (err) {
          have = err;
        }
        expect(have).to.be.instanceOf(NoEndpointsError);
        expect((have as Error).cause).to.equal(failure);
        expect((have as Error).message).to.contain('registry down');
      });

      it('skips an unavailable entry, and uses all when none is available', () => {
        const es = ['a', 'b', 'c'].map((id) => switchable(id));
        const b = make(new Source(es));
        es[0]!.up = false;
        es[2]!.up = false;
        for (let i = 0; i < 30; i++) expect(b.pick(ctx, {}).instance.id).to.equal('b');
        es[1]!.up = false;
        expect(['a', 'b', 'c']).to.include(b.pick(ctx, {}).instance.id);
      });

      it('picks outside `avoid` while it can, inside it rather than fail', () => {
        const b = make(new Source(['a', 'b', 'c'].map((id) => entry(id))));
        for (let i = 0; i < 30; i++) expect(b.pick(ctx, {}, new Set(['a', 'c'])).instance.id).to.equal('b');
        expect(['a', 'b', 'c']).to.include(b.pick(ctx, {}, new Set(['a', 'b', 'c'])).instance.id);
      });

      it('follows membership changes', () => {
        const s = new Source([entry('a')]);
        const b = make(s);
        expect(b.pick(ctx, {}).instance.id).to.equal('a');
        s.update([entry('z')]);
        expect(b.pick(ctx, {}).instance.id).to.equal('z');
        s.update([]);
        expect(() => b.pick(ctx, {})).to.throw(NoEndpointsError);
      });

      it('refuses something that is not an Endpointer', () => {
        expect(() => make({} as EndpointSource<unknown, string>)).to.throw(TypeError, /Endpointer/);
      });
    });
  }
});

describe('with a real Endpointer', () => {
  it('balances over the instances of a FixedInstancer', async () => {
    const endpointer = new Endpointer<unknown, string>(
      new FixedInstancer(['10.0.0.2:80', '10.0.0.1:80']),
      (i) => async () => i.address,
    );
    const endpoint = balanced(roundRobin(endpointer, { start: 0 }));
    expect([await endpoint(ctx, {}), await endpoint(ctx, {})]).to.deep.equal(['10.0.0.1:80', '10.0.0.2:80']);
    await endpointer.close();
  });

  it('turns the error invalidateOnError surfaces into a NoEndpointsError with that cause', async () => {
    let listener: InstancerListener | undefined;
    const instancer: Instancer = {
      subscribe(l) {
        listener = l;
        l({ instances: [{ id: 'a', address: 'a:80' }] });
        return () => {};
      },
      close: async () => {},
    };
    let now = 0;
    const endpointer = new Endpointer<unknown, string>(instancer, () => async () => 'ok', {
      invalidateOnError: 100,
      now: () => now,
    });
    const b = roundRobin(endpointer);
    const down = new Error('etcd unreachable');
    listener!({ instances: [], error: down });
    expect(b.pick(ctx, {}).instance.id).to.equal('a'); // still within invalidateOnError
    now = 150;
    expect(() => b.pick(ctx, {}))
      .to.throw(NoEndpointsError)
      .with.property('cause', down);
    await endpointer.close();
  });
});

describe('balanced', () => {
  it('returns a rejected promise, not a throw, when there is nothing to pick', async () => {
    const endpoint = balanced(roundRobin(new Source()));
    let result: Promise<unknown> | undefined;
    expect(() => {
      result = endpoint(ctx, {});
    }).not.to.throw();
    let have: unknown;
    await result!.catch((e) => {
      have = e;
    });
    expect(have).to.be.instanceOf(NoEndpointsError);
  });

  it('passes the request and a child of the context, naming the instance, to the picked endpoint', async () => {
    const seen: unknown[] = [];
    const e: Endpoint<unknown, string> = async (c, r) => {
      seen.push(c, r);
      return 'ok';
    };
    const endpoint = balanced(roundRobin(new Source([entry('a', { endpoint: e })])));
    expect(await endpoint(ctx, 42)).to.equal('ok');
    const [passed, req] = seen as [Context, number];
    expect(req).to.equal(42);
    expect(passed.value(instanceKey)?.id).to.equal('a');
    expect(passed.deadline).to.equal(ctx.deadline);
    expect(passed.err()).to.equal(ctx.err());
  });
});
