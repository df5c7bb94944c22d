import { expect } from 'chai';
import { background, chain, type Endpoint, isFailer, type Middleware, nop } from '../src/index.js';

describe('chain', () => {
  // go-kit's ExampleChain: the first middleware is the outermost.
  it('runs middlewares first = outermost, as go-kit', async () => {
    const have: string[] = [];
    const annotate =
      (s: string): Middleware =>
      (next) =>
      async (ctx, req) => {
        have.push(`${s} pre`);
        try {
          return await next(ctx, req);
        } finally {
          have.push(`${s} post`);
        }
      };
    const e = chain(
      annotate('first'),
      annotate('second'),
      annotate('third'),
    )(async () => {
      have.push('my endpoint!');
      return {};
    });
    await e(background(), {});
    expect(have).to.deep.equal([
      'first pre',
      'second pre',
      'third pre',
      'my endpoint!',
      'third post',
      'second post',
      'first post',
    ]);
  });

  it('with a single middleware is that middleware', async () => {
    const double: Middleware<number, number> = (next) => async (ctx, n) => 2 * (await next(ctx, n));
    const e: Endpoint<number, number> = async (_ctx, n) => n + 1;
    expect(await chain(double)(e)(background(), 3)).to.equal(8);
  });

  it('nop resolves to an empty object', async () => {
    expect(await nop(background(), 'anything')).to.deep.equal({});
  });

  it('isFailer recognizes responses that carry a business error', () => {
    const res = { failed: () => new Error('no such good') };
    expect(isFailer(res)).to.equal(true);
    expect(isFailer({ failed: 1 })).to.equal(false);
    expect(isFailer(null)).to.equal(false);
  });
});
