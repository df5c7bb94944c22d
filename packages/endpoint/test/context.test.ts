import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { assertNoLeaks, baseline } from '@kitts/testkit';
import { expect } from 'chai';
import fc from 'fast-check';
import {
  background,
  CanceledError,
  type Context,
  DeadlineExceededError,
  key,
  sleep,
  timeRemaining,
  withCancel,
  withDeadline,
  withSignal,
  withTimeout,
  withValue,
} from '../src/index.js';

function fakeClock(start = 1_000_000) {
  let t = start;
  return { now: () => t, advance: (ms: number) => void (t += ms) };
}

describe('Context', () => {
  it('background is never done and has no deadline or values', () => {
    const ctx = background();
    expect(ctx.err()).to.equal(undefined);
    expect(ctx.deadline).to.equal(undefined);
    expect(ctx.value(key('x'))).to.equal(undefined);
    expect(ctx.signal.aborted).to.equal(false);
  });

  describe('values', () => {
    it('are found through any number of layers and shadow outer ones', () => {
      const a = key<string>('a');
      const b = key<number>('b');
      const ctx1 = withValue(background(), a, 'outer');
      const [ctx2] = withCancel(withValue(ctx1, b, 1));
      const ctx3 = withValue(ctx2, a, 'inner');
      expect(ctx1.value(a)).to.equal('outer');
      expect(ctx3.value(a)).to.equal('inner');
      expect(ctx3.value(b)).to.equal(1);
      expect(ctx2.value(a)).to.equal('outer');
    });

    it('keys compare by identity, not by name', () => {
      const k1 = key<string>('same');
      const k2 = key<string>('same');
      const ctx = withValue(background(), k1, 'v');
      expect(ctx.value(k2)).to.equal(undefined);
    });
  });

  describe('cancellation', () => {
    it('cancel sets err() to a CanceledError, the same one every time', () => {
      const [ctx, cancel] = withCancel(background());
      expect(ctx.err()).to.equal(undefined);
      cancel();
      const err = ctx.err();
      expect(err).to.be.instanceOf(CanceledError);
      expect(ctx.err()).to.equal(err);
      cancel(); // idempotent
      expect(ctx.err()).to.equal(err);
    });

    it('cancelling a parent cancels its children, never the reverse', () => {
      const [parent, cancelParent] = withCancel(background());
      const [child, cancelChild] = withCancel(parent);
      const [sibling] = withCancel(parent);
      cancelChild();
      expect(child.err()).to.be.instanceOf(CanceledError);
      expect(parent.err()).to.equal(undefined);
      expect(sibling.err()).to.equal(undefined);
      cancelParent();
      expect(sibling.err()).to.be.instanceOf(CanceledError);
    });

    it("a cancelled parent aborts a child's signal read later", () => {
      const [parent, cancel] = withCancel(background());
      const [child] = withTimeout(withValue(parent, key('k'), 1), 10_000);
      cancel();
      const signal = child.signal;
      expect(signal.aborted).to.equal(true);
      expect(signal.reason).to.be.instanceOf(CanceledError);
    });

    it('a child signal read before the parent is cancelled aborts when it is', () => {
      const [parent, cancel] = withCancel(background());
      const [child] = withCancel(withValue(parent, key('k'), 1));
      const [grandchild] = withCancel(child);
      const signal = grandchild.signal;
      let fired = 0;
      signal.addEventListener('abort', () => fired++);
      expect(signal.aborted).to.equal(false);
      cancel();
      expect(signal.aborted).to.equal(true);
      expect(fired).to.equal(1);
      expect(grandchild.err()).to.be.instanceOf(CanceledError);
    });

    it('withSignal follows an external AbortSignal', () => {
      const ac = new AbortController();
      const [ctx, cancel] = withSignal(background(), ac.signal);
      const [child] = withCancel(ctx);
      const s = child.signal;
      expect(s.aborted).to.equal(false);
      ac.abort();
      expect(s.aborted).to.equal(true);
      expect(ctx.err()).to.be.instanceOf(CanceledError);
      cancel();
      const already = new AbortController();
      already.abort();
      expect(withSignal(background(), already.signal)[0].err()).to.be.instanceOf(CanceledError);
    });

    it('withSignal sees an abort through err() even when no signal was read', () => {
      const ac = new AbortController();
      const [ctx] = withSignal(background(), ac.signal);
      ac.abort();
      expect(ctx.err()).to.be.instanceOf(CanceledError);
    });
  });

  describe('deadlines', () => {
    it('err() turns into DeadlineExceededError exactly when the deadline passes (injected clock)', () => {
      const clock = fakeClock();
      const [ctx, cancel] = withTimeout(background({ now: clock.now }), 100);
      expect(ctx.deadline).to.equal(clock.now() + 100);
      clock.advance(99);
      expect(ctx.err()).to.equal(undefined);
      expect(timeRemaining(ctx)).to.equal(1);
      clock.advance(1);
      expect(ctx.err()).to.be.instanceOf(DeadlineExceededError);
      expect(timeRemaining(ctx)).to.equal(0);
      cancel(); // after the deadline, cancel does not change the reason
      expect(ctx.err()).to.be.instanceOf(DeadlineExceededError);
    });

    it("a child's deadline is the earlier of its own and its parent's", () => {
      fc.assert(
        fc.property(fc.integer({ min: 1, max: 1e6 }), fc.integer({ min: 1, max: 1e6 }), (p, c) => {
          const clock = fakeClock();
          const [parent] = withTimeout(background({ now: clock.now }), p);
          const [child] = withTimeout(parent, c);
          expect(child.deadline).to.equal(clock.now() + Math.min(p, c));
          const [value] = withCancel(withValue(child, key('x'), 1));
          expect(value.deadline).to.equal(child.deadline);
        }),
      );
    });

    it("a parent's deadline ends its children with DeadlineExceededError", () => {
      const clock = fakeClock();
      const [parent] = withDeadline(background({ now: clock.now }), clock.now() + 50);
      const [child] = withCancel(parent);
      clock.advance(50);
      expect(child.err()).to.be.instanceOf(DeadlineExceededError);
    });

    it('a deadline weeks away does not fire early (setTimeout caps delays at 2^31-1 ms)', async () => {
      const [ctx, cancel] = withTimeout(background(), 30 * 24 * 3600 * 1000);
      const signal = ctx.signal;
      await new Promise((r) => setTimeout(r, 20));
      expect(signal.aborted).to.equal(false);
      expect(ctx.err()).to.equal(undefined);
      cancel();
      expect(signal.aborted).to.equal(true);
    });

    it('a real short deadline aborts the signal', async () => {
      const [ctx, cancel] = withTimeout(background(), 15);
      const reason = await new Promise((resolve) =>
        ctx.signal.addEventListener('abort', () => resolve(ctx.signal.reason)),
      );
      expect(reason).to.be.instanceOf(DeadlineExceededError);
      expect(ctx.err()).to.be.instanceOf(DeadlineExceededError);
      cancel();
    });

    it('costs no timer until the signal is read, and cancel releases the timer', () => {
      const created: unknown[] = [];
      const cleared: unknown[] = [];
      const realSet = globalThis.setTimeout;
      const realClear = globalThis.clearTimeout;
      globalThis.setTimeout = ((fn: () => void, ms?: number) => {
        const t = realSet(fn, ms);
        created.push(t);
        return t;
      }) as typeof setTimeout;
      globalThis.clearTimeout = ((t: NodeJS.Timeout) => {
        cleared.push(t);
        realClear(t);
      }) as typeof clearTimeout;
      try {
        const [lazy, cancelLazy] = withTimeout(background(), 60_000);
        expect(lazy.err()).to.equal(undefined);
        cancelLazy();
        expect(created).to.have.length(0);

        const [eager, cancelEager] = withTimeout(background(), 60_000);
        void eager.signal;
        expect(created).to.have.length(1);
        cancelEager();
        expect(cleared).to.deep.equal(created);
        expect(eager.signal.aborted).to.equal(true);
      } finally {
        globalThis.setTimeout = realSet;
        globalThis.clearTimeout = realClear;
      }
    });

    it('never keeps the process alive (its timer is unref-ed)', function () {
      this.timeout(20_000);
      // A process whose only work is a context with a 60 s deadline and a materialized
      // signal must exit at once.
      const src = [
        "import { background, withTimeout } from '@kitts/endpoint';",
        'const [ctx] = withTimeout(background(), 60_000);',
        "ctx.signal.addEventListener('abort', () => console.log('aborted'));",
      ].join('\n');
      const t0 = Date.now();
      const r = spawnSync(
        process.execPath,
        ['--import', 'tsx', '--conditions=source', '--input-type=module', '-e', src],
        {
          cwd: fileURLToPath(new URL('..', import.meta.url)),
          encoding: 'utf8',
          timeout: 15_000,
        },
      );
      expect(r.status, r.stderr).to.equal(0);
      expect(Date.now() - t0).to.be.lessThan(15_000);
      expect(r.stdout).to.equal('');
    });
  });

  describe('sleep', () => {
    it('resolves after the time', async () => {
      const t0 = Date.now();
      await sleep(background(), 20);
      expect(Date.now() - t0).to.be.greaterThanOrEqual(15);
    });

    it('ends at once with the context error on cancel', async () => {
      const [ctx, cancel] = withCancel(background());
      const base = await baseline();
      const p = sleep(ctx, 60_000);
      setTimeout(cancel, 5);
      const err = await p.then(
        () => undefined,
        (e: unknown) => e,
      );
      expect(err).to.be.instanceOf(CanceledError);
      await assertNoLeaks(base);
    });

    it('rejects at once when the context already ended', async () => {
      const [ctx, cancel] = withCancel(background());
      cancel();
      const err = await sleep(ctx as Context, 10).catch((e: unknown) => e);
      expect(err).to.be.instanceOf(CanceledError);
    });
  });
});
