// bench/endpoint: the cost of composing middleware and of a context with a timeout.
import { background, chain, type Endpoint, type Middleware, withTimeout } from '@kitts/endpoint';
import { group } from './harness.js';

export async function run(): Promise<void> {
  const leaf: Endpoint<number, number> = async (_ctx, n) => n;
  const pass: Middleware<number, number> = (next) => (ctx, req) => next(ctx, req);
  const chained = chain(pass, pass, pass, pass, pass)(leaf);

  // The same five layers written by hand as nested async functions.
  const f5 = async (n: number) => n;
  const f4 = async (n: number) => f5(n);
  const f3 = async (n: number) => f4(n);
  const f2 = async (n: number) => f3(n);
  const f1 = async (n: number) => f2(n);
  const nested = async (n: number) => f1(n);
  const ctx = background();

  await group('chain of 5 pass-through middlewares (target <= 1.2x)', [
    { name: 'hand-written nested async functions', fn: () => nested(1) },
    { name: 'chain(m1..m5)(endpoint)', fn: () => chained(ctx, 1) },
  ]);

  await group('timeout context created and cancelled per call, signal never read (target <= 0.2x)', [
    {
      name: 'AbortController + setTimeout + clearTimeout',
      fn: () => {
        const ac = new AbortController();
        const t = setTimeout(() => ac.abort(), 1000);
        clearTimeout(t);
      },
    },
    {
      name: 'withTimeout(ctx, 1000) + cancel()',
      fn: () => {
        const [, cancel] = withTimeout(ctx, 1000);
        cancel();
      },
    },
  ]);
}
