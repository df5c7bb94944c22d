import { expect } from 'chai';
import * as E from 'fp-ts/lib/Either.js';
import { pipe } from 'fp-ts/lib/function.js';
import * as RTE from 'fp-ts/lib/ReaderTaskEither.js';
import { fromReaderTaskEither, liftMiddleware, toReaderTaskEither, use } from '../src/fp.js';
import { background, type Context, type Endpoint, key, type Middleware, withValue } from '../src/index.js';

const user = key<string>('user');

describe('fp interop', () => {
  const getGreeting = (name: string): RTE.ReaderTaskEither<Context, Error, string> =>
    name === ''
      ? RTE.left(new Error('empty name'))
      : RTE.asks((ctx: Context) => `hello ${name} from ${ctx.value(user)}`);

  it('turns a ReaderTaskEither function into an Endpoint: Right resolves, Left rejects', async () => {
    const endpoint = fromReaderTaskEither(getGreeting);
    const ctx = withValue(background(), user, 'ada');
    expect(await endpoint(ctx, 'bob')).to.equal('hello bob from ada');
    const err = await endpoint(ctx, '').catch((e: unknown) => e);
    expect((err as Error).message).to.equal('empty name');
  });

  it('turns an Endpoint into a ReaderTaskEither function: rejections become Left', async () => {
    const endpoint: Endpoint<number, number> = async (_ctx, n) => {
      if (n < 0) throw new Error('negative');
      return n * 2;
    };
    const f = toReaderTaskEither(endpoint);
    expect(await f(21)(background())()).to.deep.equal(E.right(42));
    const left = await f(-1)(background())();
    expect(E.isLeft(left) && left.left.message).to.equal('negative');
    const nonError: Endpoint<number, number> = async () => Promise.reject('plain string');
    const l2 = await toReaderTaskEither(nonError)(1)(background())();
    expect(E.isLeft(l2) && l2.left.message).to.equal('plain string');
  });

  it('lifts middleware into pipe, applied in order', async () => {
    const trail: string[] = [];
    const tag =
      (s: string): Middleware<string, string> =>
      (next) =>
      async (ctx, req) => {
        trail.push(s);
        return `${await next(ctx, req)}+${s}`;
      };
    const piped = pipe(getGreeting, liftMiddleware(tag('inner')), liftMiddleware(tag('outer')));
    const result = await piped('bob')(withValue(background(), user, 'ada'))();
    expect(result).to.deep.equal(E.right('hello bob from ada+inner+outer'));
    expect(trail).to.deep.equal(['outer', 'inner']);

    const endpoint: Endpoint<string, string> = async (_c, s) => s;
    const e2 = pipe(endpoint, use(tag('a')), use(tag('b')));
    expect(await e2(background(), 'x')).to.equal('x+a+b');
  });
});
