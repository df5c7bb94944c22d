import { assertNoLeaks, baseline } from '@kitts/testkit';
import { expect } from 'chai';
import {
  background,
  CanceledError,
  DeadlineExceededError,
  key,
  onDone,
  withCancel,
  withSignal,
  withTimeout,
  withValue,
} from '../src/index.js';

const tick = () => new Promise((r) => setImmediate(r));

describe('onDone (context.AfterFunc)', () => {
  it('runs once when the context is cancelled, and stop() then says it already ran', () => {
    const [ctx, cancel] = withCancel(background());
    let runs = 0;
    const stop = onDone(ctx, () => runs++);
    cancel();
    cancel();
    expect(runs).to.equal(1);
    expect(stop()).to.equal(false);
  });

  it('runs when an ancestor is cancelled, through value contexts, with the ancestor reason', () => {
    const [parent, cancel] = withCancel(background());
    const [child, cancelChild] = withTimeout(withValue(parent, key('k'), 1), 60_000);
    const seen: unknown[] = [];
    onDone(withValue(child, key('j'), 2), () => seen.push(child.err()));
    cancel();
    cancelChild();
    expect(seen).to.have.length(1);
    expect(seen[0]).to.be.instanceOf(CanceledError);
  });

  it('runs when the deadline passes, with nobody reading the signal', async () => {
    const [ctx, cancel] = withTimeout(background(), 5);
    const err = await new Promise((resolve) => onDone(ctx, () => resolve(ctx.err())));
    expect(err).to.be.instanceOf(DeadlineExceededError);
    cancel();
  });

  it('runs in a microtask, not synchronously, for a context that already ended', async () => {
    const [ctx, cancel] = withCancel(background());
    cancel();
    let ran = false;
    const stop = onDone(ctx, () => {
      ran = true;
    });
    expect(ran).to.equal(false);
    await tick();
    expect(ran).to.equal(true);
    expect(stop()).to.equal(false);
  });

  it('does not run after stop(), and the context still ends normally', () => {
    const [ctx, cancel] = withCancel(background());
    let ran = false;
    const stop = onDone(ctx, () => {
      ran = true;
    });
    expect(stop()).to.equal(true);
    cancel();
    expect(ran).to.equal(false);
    expect(ctx.err()).to.be.instanceOf(CanceledError);
  });

  it('never runs for a context that cannot end, and costs nothing there', () => {
    const stop = onDone(withValue(background(), key('k'), 1), () => expect.fail('ran'));
    expect(stop()).to.equal(false);
  });

  it('hears an external AbortSignal through withSignal', () => {
    const ac = new AbortController();
    const [ctx, cancel] = withSignal(background(), ac.signal);
    let ran = 0;
    onDone(ctx, () => ran++);
    ac.abort();
    expect(ran).to.equal(1);
    cancel();
  });

  it('creates no AbortController, and leaves no timer once cancelled, even if the signal is read later', async () => {
    const base = await baseline();
    for (let i = 0; i < 100; i++) {
      const [ctx, cancel] = withTimeout(background(), 60_000);
      const stop = onDone(ctx, () => {});
      // One timer serves both: reading the signal must not arm a second one.
      void ctx.signal;
      stop();
      cancel();
    }
    await assertNoLeaks(base);
  });

  it('keeps running the other callbacks when one throws, and reports the throw', async () => {
    const [ctx, cancel] = withCancel(background());
    const reported: unknown[] = [];
    const listener = (e: unknown) => reported.push(e);
    const mochaListeners = process.listeners('uncaughtException');
    process.removeAllListeners('uncaughtException');
    process.on('uncaughtException', listener);
    try {
      let second = false;
      onDone(ctx, () => {
        throw new Error('bad callback');
      });
      onDone(ctx, () => {
        second = true;
      });
      cancel();
      expect(second).to.equal(true);
      await tick();
      expect(reported.map((e) => (e as Error).message)).to.deep.equal(['bad callback']);
    } finally {
      process.removeListener('uncaughtException', listener);
      for (const l of mochaListeners) process.on('uncaughtException', l);
    }
  });
});
