import { background, CircuitOpenError, type Endpoint } from '@kitts/endpoint';
import { Endpointer, type Entry, type Factory, FixedInstancer, type Instance } from '@kitts/sd';
import { expect } from 'chai';
import { circuitBreaker, consecutiveFailures, withBreakers } from '../src/index.js';
import { fakeClock, outcome } from './helpers.js';

/** What every kitts balancer does: skip entries whose available() is false. */
function pickFirstAvailable<Req, Res>(entries: readonly Entry<Req, Res>[]): Entry<Req, Res> {
  return entries.find((e) => e.available?.() ?? true) ?? entries[0]!;
}

describe('withBreakers: a breaker per instance', () => {
  function setup() {
    const clock = fakeClock();
    const down = new Set<string>(['a:1']);
    const calls: string[] = [];
    const factory: Factory<string, string> = (instance: Instance) => async (_ctx, req) => {
      calls.push(instance.id);
      if (down.has(instance.id)) throw new Error(`${instance.id} is down`);
      return `${instance.id} says ${req}`;
    };
    const endpointer = new Endpointer(
      new FixedInstancer(['a:1', 'b:2']),
      withBreakers(factory, { trip: consecutiveFailures(2), sleepWindow: 1_000, now: clock.now }),
    );
    return { clock, down, calls, endpointer };
  }

  it('marks an instance unavailable while its breaker is open, so balancing routes around it', async () => {
    const { endpointer, calls } = setup();
    const [a, b] = endpointer.current().entries;
    for (let i = 0; i < 2; i++)
      await outcome(pickFirstAvailable(endpointer.current().entries).endpoint(background(), 'hi'));
    expect(a!.available!()).to.equal(false);
    expect(b!.available!()).to.equal(true);
    const have = await pickFirstAvailable(endpointer.current().entries).endpoint(background(), 'hi');
    expect(have).to.equal('b:2 says hi');
    expect(calls).to.deep.equal(['a:1', 'a:1', 'b:2']);
    await endpointer.close();
  });

  it('makes it available again after sleepWindow, so a probe can bring it back', async () => {
    const { endpointer, clock, down } = setup();
    const a = endpointer.current().entries[0]!;
    for (let i = 0; i < 2; i++) await outcome(a.endpoint(background(), 'x'));
    expect(await outcome(a.endpoint(background(), 'x'))).to.be.instanceOf(CircuitOpenError);
    clock.advance(1_000);
    expect(a.available!()).to.equal(true);
    down.clear();
    expect(await pickFirstAvailable(endpointer.current().entries).endpoint(background(), 'again')).to.equal(
      'a:1 says again',
    );
    expect(a.available!()).to.equal(true);
    await endpointer.close();
  });

  it('keeps the instances apart: one failing instance does not open another', async () => {
    const { endpointer } = setup();
    const [a, b] = endpointer.current().entries;
    for (let i = 0; i < 5; i++) await outcome(a!.endpoint(background(), 'x'));
    expect(await b!.endpoint(background(), 'y')).to.equal('b:2 says y');
  });

  it("honours the factory's own available() and close()", async () => {
    let innerUp = true;
    let closed = 0;
    const endpoint: Endpoint<string, string> = async () => 'ok';
    const factory: Factory<string, string> = () => ({
      endpoint,
      available: () => innerUp,
      close: () => void closed++,
    });
    const endpointer = new Endpointer(new FixedInstancer(['a:1']), withBreakers(factory));
    const a = endpointer.current().entries[0]!;
    expect(a.available!()).to.equal(true);
    innerUp = false;
    expect(a.available!()).to.equal(false);
    await endpointer.close();
    expect(closed).to.equal(1);
  });

  it('takes a function that builds each breaker, to name it and attach listeners', async () => {
    const opened: string[] = [];
    const factory: Factory<string, string> = () => async () => {
      throw new Error('nope');
    };
    const made = withBreakers(factory, (instance) => {
      const breaker = circuitBreaker<string, string>({ name: instance.id, trip: consecutiveFailures(1) });
      breaker.onStateChange(({ to }) => to.value === 'open' && opened.push(instance.id));
      return breaker;
    });
    const result = made({ id: 'db-7', address: '10.0.0.7:5432' });
    await outcome(result.endpoint(background(), 'q'));
    expect(opened).to.deep.equal(['db-7']);
    expect(result.breaker.snapshot().name).to.equal('db-7');
  });

  it('names each default breaker after its instance and checks its inputs', () => {
    const made = withBreakers<string, string>(() => async () => 'ok');
    expect(made({ id: 'x', address: 'x:1' }).breaker.snapshot().name).to.equal('x');
    expect(() => withBreakers(42 as never)).to.throw(TypeError, /factory must be a function/);
    const wrong = withBreakers<string, string>(
      () => async () => 'ok',
      () => ({}) as never,
    );
    expect(() => wrong({ id: 'x', address: 'x:1' })).to.throw(TypeError, /not a circuitBreaker/);
  });
});
