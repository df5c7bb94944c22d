import { background, CanceledError, NoEndpointsError, RetryError, withCancel } from '@kitts/endpoint';
import { assertNoLeaks, baseline, waitFor } from '@kitts/testkit';
import { expect } from 'chai';
import { broadcast, hedge, roundRobin } from '../src/index.js';
import { controlled, entry, flush, Source, switchable } from './fixtures.js';

const ctx = background();

async function rejection(p: Promise<unknown>): Promise<unknown> {
  try {
    await p;
  } catch (err) {
    return err;
  }
  throw new Error('expected a rejection');
}

describe('hedge', () => {
  it('sends a second copy to another instance after `delay`; the first success wins, the loser is cancelled', async () => {
    const base = await baseline();
    const a = controlled('a');
    const b = controlled('b');
    const endpoint = hedge(roundRobin(new Source([a.entry, b.entry]), { start: 0 }), { delay: 1 });
    const p = endpoint(ctx, {});
    await waitFor(() => b.calls.length === 1, { what: 'the hedged copy' });
    b.calls[0]!.answer.resolve('from b');
    expect(await p).to.equal('from b');
    expect(a.calls[0]!.ctx.err()).to.be.instanceOf(CanceledError);
    a.calls[0]!.answer.resolve('late');
    await assertNoLeaks(base);
  });

  it('sends no copy when the first answer comes in time', async () => {
    const base = await baseline();
    const a = controlled('a');
    const b = controlled('b');
    const endpoint = hedge(roundRobin(new Source([a.entry, b.entry]), { start: 0 }), { delay: 60_000 });
    const p = endpoint(ctx, {});
    a.calls[0]!.answer.resolve('from a');
    expect(await p).to.equal('from a');
    expect(b.calls).to.have.length(0);
    await assertNoLeaks(base); // the hedge timer is cleared
  });

  it('sends the next copy at once when a copy fails with a retryable error', async () => {
    const a = controlled('a');
    const b = controlled('b');
    const endpoint = hedge(roundRobin(new Source([a.entry, b.entry]), { start: 0 }), { delay: 60_000 });
    const p = endpoint(ctx, {});
    a.calls[0]!.answer.reject(new Error('reset'));
    await waitFor(() => b.calls.length === 1);
    b.calls[0]!.answer.resolve('from b');
    expect(await p).to.equal('from b');
  });

  it('answers with a non-retryable error at once, cancelling the other copies', async () => {
    const a = controlled('a');
    const b = controlled('b');
    const endpoint = hedge(roundRobin(new Source([a.entry, b.entry]), { start: 0 }), { delay: 1 });
    const p = endpoint(ctx, {});
    await waitFor(() => b.calls.length === 1);
    const notFound = Object.assign(new Error('not found'), { statusCode: 404 });
    b.calls[0]!.answer.reject(notFound);
    expect(await rejection(p)).to.equal(notFound);
    expect(a.calls[0]!.ctx.err()).to.be.instanceOf(CanceledError);
    a.calls[0]!.answer.resolve('late');
  });

  it('fails with RetryError when every copy failed', async () => {
    const es = ['a', 'b'].map((id) =>
      entry(id, { endpoint: async () => Promise.reject(new Error(`${id} down`)) }),
    );
    const err = (await rejection(
      hedge(roundRobin(new Source(es), { start: 0 }), { delay: 1 })(ctx, {}),
    )) as RetryError;
    expect(err).to.be.instanceOf(RetryError);
    expect(err.errors.map((e) => (e as Error).message)).to.deep.equal(['a down', 'b down']);
  });

  it('never sends a second copy to the instance already working on the request', async () => {
    const a = controlled('a');
    const p = hedge(roundRobin(new Source([a.entry])), { delay: 1, max: 3 })(ctx, {});
    await new Promise((r) => setTimeout(r, 10));
    expect(a.calls).to.have.length(1);
    a.calls[0]!.answer.resolve('a');
    expect(await p).to.equal('a');
  });

  it("ends with the caller's CanceledError and cancels every copy", async () => {
    const a = controlled('a');
    const [cctx, cancel] = withCancel(ctx);
    const p = hedge(roundRobin(new Source([a.entry])), { delay: 1 })(cctx, {});
    cancel();
    expect(await rejection(p)).to.be.instanceOf(CanceledError);
    expect(a.calls[0]!.ctx.err()).to.be.instanceOf(CanceledError);
    a.calls[0]!.answer.resolve('late');
  });

  it('fails with NoEndpointsError on an empty set', async () => {
    expect(await rejection(hedge(roundRobin(new Source()), { delay: 1 })(ctx, {}))).to.be.instanceOf(
      NoEndpointsError,
    );
  });
});

describe('broadcast', () => {
  it("'all' returns every response in instance order", async () => {
    const [b, a, c] = [controlled('b'), controlled('a'), controlled('c')];
    const p = broadcast(new Source([b.entry, a.entry, c.entry]), { mode: 'all' })(ctx, {});
    c.calls[0]!.answer.resolve('C');
    a.calls[0]!.answer.resolve('A');
    await flush();
    b.calls[0]!.answer.resolve('B');
    expect(await p).to.deep.equal(['A', 'B', 'C']);
  });

  it("'all' fails with the first error and cancels the rest", async () => {
    const [a, b] = [controlled('a'), controlled('b')];
    const p = broadcast(new Source([a.entry, b.entry]), { mode: 'all' })(ctx, {});
    const boom = new Error('b failed');
    b.calls[0]!.answer.reject(boom);
    expect(await rejection(p)).to.equal(boom);
    expect(a.calls[0]!.ctx.err()).to.be.instanceOf(CanceledError);
    a.calls[0]!.answer.resolve('late');
  });

  it("'first' returns the first success and cancels the rest", async () => {
    const [a, b, c] = [controlled('a'), controlled('b'), controlled('c')];
    const p = broadcast(new Source([a.entry, b.entry, c.entry]), { mode: 'first' })(ctx, {});
    a.calls[0]!.answer.reject(new Error('a failed'));
    await flush();
    c.calls[0]!.answer.resolve('C');
    expect(await p).to.equal('C');
    expect(b.calls[0]!.ctx.err()).to.be.instanceOf(CanceledError);
    b.calls[0]!.answer.resolve('late');
  });

  it("'first' fails with RetryError when every call fails", async () => {
    const es = ['a', 'b'].map((id) => entry(id, { endpoint: async () => Promise.reject(new Error(id)) }));
    const err = await rejection(broadcast(new Source(es), { mode: 'first' })(ctx, {}));
    expect(err).to.be.instanceOf(RetryError);
    expect((err as RetryError).errors).to.have.length(2);
  });

  it('skips unavailable instances while any is available', async () => {
    const es = ['a', 'b', 'c'].map((id) => switchable(id));
    es[1]!.up = false;
    expect(await broadcast(new Source(es), { mode: 'all' })(ctx, {})).to.deep.equal(['a', 'c']);
  });

  it("cancels every call when the caller's context ends", async () => {
    const [a, b] = [controlled('a'), controlled('b')];
    const [cctx, cancel] = withCancel(ctx);
    const p = broadcast(new Source([a.entry, b.entry]), { mode: 'all' })(cctx, {});
    cancel();
    expect(await rejection(p)).to.be.instanceOf(CanceledError);
    for (const x of [a, b]) {
      expect(x.calls[0]!.ctx.err()).to.be.instanceOf(CanceledError);
      x.calls[0]!.answer.resolve('late');
    }
  });

  it('fails with NoEndpointsError on an empty set, and names a bad mode', async () => {
    expect(await rejection(broadcast(new Source(), { mode: 'all' })(ctx, {}))).to.be.instanceOf(
      NoEndpointsError,
    );
    expect(() => broadcast(new Source(), { mode: 'some' as 'all' })).to.throw(TypeError, /mode/);
  });
});
