import { background, type Endpoint } from '@kitts/endpoint';
import { assertNoLeaks, baseline } from '@kitts/testkit';
import { expect } from 'chai';
import fc from 'fast-check';
import {
  Endpointer,
  type Factory,
  type Instance,
  InstanceBroadcaster,
  type Instancer,
} from '../src/index.js';

/** An Instancer whose events the test sends by hand. */
function manualInstancer() {
  const b = new InstanceBroadcaster();
  const instancer: Instancer = { subscribe: (l) => b.subscribe(l), close: async () => b.clear() };
  return { instancer, b };
}

const inst = (id: string, extra: Partial<Instance> = {}): Instance => ({ id, address: `${id}:80`, ...extra });

/** A factory that records what it made and what was closed. */
function recordingFactory() {
  const made: string[] = [];
  const closed: string[] = [];
  const factory: Factory<unknown, string> = (i) => {
    made.push(i.id);
    const endpoint: Endpoint<unknown, string> = async () => i.id;
    return { endpoint, close: () => void closed.push(i.id) };
  };
  return { factory, made, closed };
}

const ids = (e: Endpointer<unknown, string>) => e.current().entries.map((x) => x.instance.id);

describe('Endpointer', () => {
  // go-kit's TestEndpointCache: {a,b} -> same -> error -> {a} (b closed) -> {} (a closed).
  it('follows the go-kit cache lifecycle', async () => {
    const { instancer, b } = manualInstancer();
    const { factory, made, closed } = recordingFactory();
    b.update([inst('b'), inst('a')]);
    const e = new Endpointer(instancer, factory);
    expect(ids(e)).to.deep.equal(['a', 'b']);
    expect(made).to.deep.equal(['a', 'b']);
    const v1 = e.current().version;

    b.update([inst('a'), inst('b')]);
    expect(e.current().version).to.equal(v1);
    expect(made).to.have.length(2);

    b.fail(new Error('registry down'));
    expect(ids(e)).to.deep.equal(['a', 'b']);
    expect(closed).to.deep.equal([]);

    b.update([inst('a')]);
    expect(ids(e)).to.deep.equal(['a']);
    expect(closed).to.deep.equal(['b']);
    expect(made).to.have.length(2);

    b.update([]);
    expect(ids(e)).to.deep.equal([]);
    expect(closed).to.deep.equal(['b', 'a']);
    await e.close();
  });

  it('calls the endpoints it built', async () => {
    const { instancer, b } = manualInstancer();
    b.update([inst('x')]);
    const e = new Endpointer(instancer, recordingFactory().factory);
    expect(await e.current().entries[0]!.endpoint(background(), {})).to.equal('x');
    await e.close();
  });

  // go-kit's TestEndpointCacheErrorAndTimeout, with an injected clock.
  it('invalidates on error after the timeout, keeps the first error, and recovers', async () => {
    let now = 0;
    const { instancer, b } = manualInstancer();
    const { factory, closed } = recordingFactory();
    b.update([inst('a')]);
    const e = new Endpointer(instancer, factory, { invalidateOnError: 100, now: () => now });
    expect(ids(e)).to.deep.equal(['a']);

    b.fail(new Error('sd error'));
    now = 50;
    expect(ids(e)).to.deep.equal(['a']);
    b.fail(new Error('another error'));

    now = 100;
    expect(() => e.current()).to.throw('sd error');
    expect(closed).to.deep.equal(['a']);
    expect(() => e.current()).to.throw('sd error');

    b.update([inst('a')]);
    expect(ids(e)).to.deep.equal(['a']);
    await e.close();
  });

  it('without invalidateOnError, a registry error never empties the set', async () => {
    let now = 0;
    const { instancer, b } = manualInstancer();
    b.update([inst('a')]);
    const e = new Endpointer(instancer, recordingFactory().factory, { now: () => now });
    b.fail(new Error('down'));
    now = 1e9;
    expect(ids(e)).to.deep.equal(['a']);
    await e.close();
  });

  it('a factory that always throws gives 0 entries and no error', async () => {
    const { instancer, b } = manualInstancer();
    b.update([inst('a'), inst('b')]);
    const e = new Endpointer(instancer, () => {
      throw new Error('bad');
    });
    expect(e.current().entries).to.have.length(0);
    await e.close();
  });

  it('dedupes duplicate ids in one event and creates one endpoint', async () => {
    const { factory, made, closed } = recordingFactory();
    const dup: Instancer = {
      subscribe: (l) => {
        l({ instances: [inst('a'), inst('a', { address: 'other:1' }), inst('b')] });
        return () => {};
      },
      close: async () => {},
    };
    const e = new Endpointer(dup, factory);
    expect(ids(e)).to.deep.equal(['a', 'b']);
    expect(made).to.deep.equal(['a', 'b']);
    await e.close();
    expect(closed.sort()).to.deep.equal(['a', 'b']);
  });

  it('an update of weight, tags or meta makes a new entry around the same endpoint', async () => {
    const { instancer, b } = manualInstancer();
    const { factory, made, closed } = recordingFactory();
    b.update([inst('a', { weight: 1 })]);
    const e = new Endpointer(instancer, factory);
    const before = e.current();
    b.update([inst('a', { weight: 5, tags: ['x'] })]);
    const after = e.current();
    expect(after.version).to.be.greaterThan(before.version);
    expect(after.entries[0]!.instance.weight).to.equal(5);
    expect(after.entries[0]!.endpoint).to.equal(before.entries[0]!.endpoint);
    expect(made).to.deep.equal(['a']);
    expect(closed).to.deep.equal([]);

    b.update([inst('a', { weight: 5, tags: ['x'], address: 'moved:81' })]);
    expect(e.current().entries[0]!.endpoint).not.to.equal(before.entries[0]!.endpoint);
    expect(made).to.deep.equal(['a', 'a']);
    expect(closed).to.deep.equal(['a']);
    await e.close();
  });

  it('passes available() through from the factory', async () => {
    const { instancer, b } = manualInstancer();
    let up = true;
    b.update([inst('a')]);
    const e = new Endpointer(instancer, () => ({ endpoint: async () => 1, available: () => up }));
    const entry = e.current().entries[0]!;
    expect(entry.available?.()).to.equal(true);
    up = false;
    expect(entry.available?.()).to.equal(false);
    await e.close();
  });

  it('current() is the same object until something changes; onChange fires per change', async () => {
    const { instancer, b } = manualInstancer();
    const e = new Endpointer(instancer, recordingFactory().factory);
    const seen: number[] = [];
    const off = e.onChange((s) => seen.push(s.entries.length));
    const s0 = e.current();
    expect(e.current()).to.equal(s0);
    b.update([inst('a')]);
    b.update([inst('a')]);
    b.update([inst('a'), inst('b')]);
    off();
    b.update([]);
    expect(seen).to.deep.equal([1, 2]);
    await e.close();
  });

  it('catches and logs async close errors', async () => {
    const { instancer, b } = manualInstancer();
    const logged: unknown[] = [];
    const logger = { debug() {}, info() {}, warn() {}, error: (...a: unknown[]) => void logged.push(a) };
    b.update([inst('a')]);
    const e = new Endpointer(
      instancer,
      () => ({ endpoint: async () => 1, close: async () => Promise.reject(new Error('boom')) }),
      {
        logger,
      },
    );
    b.update([]);
    await new Promise((r) => setImmediate(r));
    expect(logged).to.have.length(1);
    await e.close();
  });

  it('close() unsubscribes and closes every endpoint', async () => {
    const { instancer, b } = manualInstancer();
    const { factory, closed } = recordingFactory();
    b.update([inst('a'), inst('b')]);
    const e = new Endpointer(instancer, factory);
    await e.close();
    expect(closed.sort()).to.deep.equal(['a', 'b']);
    expect(b.subscribers).to.equal(0);
    expect(e.current().entries).to.have.length(0);
    await e.close();
  });

  it('property: the set always equals the last event, sorted and unique; factory only for new or moved ones', async () => {
    const idArb = fc.constantFrom('a', 'b', 'c', 'd', 'e');
    const eventArb = fc.array(fc.record({ id: idArb, port: fc.constantFrom(1, 2) }), { maxLength: 6 });
    await fc.assert(
      fc.asyncProperty(fc.array(eventArb, { minLength: 1, maxLength: 12 }), async (events) => {
        const { instancer, b } = manualInstancer();
        const { factory, made, closed } = recordingFactory();
        const e = new Endpointer(instancer, factory);
        for (const ev of events) {
          b.update(ev.map((x) => ({ id: x.id, address: `h:${x.port}` })));
          const firstById = new Map<string, string>();
          for (const x of ev) if (!firstById.has(x.id)) firstById.set(x.id, `h:${x.port}`);
          const want = [...firstById.keys()].sort();
          expect(ids(e)).to.deep.equal(want);
          for (const entry of e.current().entries)
            expect(entry.instance.address).to.equal(firstById.get(entry.instance.id));
        }
        await e.close();
        // Every endpoint made was closed exactly once.
        expect(closed.sort()).to.deep.equal(made.sort());
      }),
      { numRuns: 200 },
    );
  });
});

describe('Endpointer.when', () => {
  it('resolves with the current set at once, or with the first later set that satisfies', async () => {
    const base = await baseline();
    const { instancer, b } = manualInstancer();
    b.update([inst('a')]);
    const e = new Endpointer(instancer, recordingFactory().factory);
    expect((await e.when((s) => s.entries.length === 1, 1000)).entries.length).to.equal(1);
    const two = e.when((s) => s.entries.length === 2, 1000);
    b.update([inst('a'), inst('b')]);
    expect((await two).entries.map((x) => x.instance.id)).to.deep.equal(['a', 'b']);
    await e.close();
    await assertNoLeaks(base);
  });

  it('rejects after the timeout, naming what it waited for, and leaves nothing behind', async () => {
    const base = await baseline();
    const { instancer } = manualInstancer();
    const e = new Endpointer(instancer, recordingFactory().factory);
    const err = await e
      .when((s) => s.entries.length > 0, 20, 'an instance of comments')
      .catch((x: Error) => x);
    expect((err as Error).message).to.equal(
      'kitts/sd: timed out after 20 ms waiting for an instance of comments',
    );
    await e.close();
    await assertNoLeaks(base);
  });
});
