// Endpoints, middleware and context: the three ideas everything in kitts is built from.
// Run: npm start (from the repository root) or `pnpm --filter @kitts/example-basics start`.
import {
  background,
  type Context,
  chain,
  DeadlineExceededError,
  type Endpoint,
  key,
  type Middleware,
  sleep,
  withTimeout,
  withValue,
} from '@kitts/endpoint';

interface PriceRequest {
  sku: string;
}
interface PriceResponse {
  sku: string;
  cents: number;
}

const requestId = key<string>('request-id');

// An endpoint: one operation, (ctx, request) => Promise<response>. It honours its context.
const price: Endpoint<PriceRequest, PriceResponse> = async (ctx, { sku }) => {
  await sleep(ctx, sku === 'slow' ? 200 : 5); // ends early if the context does
  return { sku, cents: 100 * sku.length };
};

// Middleware wraps an endpoint with behaviour; this one logs with the request id.
function logging(lines: string[]): Middleware<PriceRequest, PriceResponse> {
  return (next) => async (ctx, req) => {
    const t0 = performance.now();
    try {
      const res = await next(ctx, req);
      lines.push(
        `[${ctx.value(requestId)}] price(${req.sku}) = ${res.cents} in ${(performance.now() - t0).toFixed(0)} ms`,
      );
      return res;
    } catch (err) {
      lines.push(`[${ctx.value(requestId)}] price(${req.sku}) failed: ${(err as Error).message}`);
      throw err;
    }
  };
}

// A per-call timeout as middleware: the context carries the deadline down the chain.
function timeout(ms: number): Middleware<PriceRequest, PriceResponse> {
  return (next) => async (ctx: Context, req) => {
    const [child, cancel] = withTimeout(ctx, ms);
    try {
      return await next(child, req);
    } finally {
      cancel();
    }
  };
}

export async function main(out: (line: string) => void = console.log): Promise<string[]> {
  const lines: string[] = [];
  const endpoint = chain(logging(lines), timeout(50))(price);
  for (const [id, sku] of [
    ['r1', 'book'],
    ['r2', 'slow'],
  ] as const) {
    const ctx = withValue(background(), requestId, id);
    try {
      await endpoint(ctx, { sku });
    } catch (err) {
      if (!(err instanceof DeadlineExceededError)) throw err;
    }
  }
  for (const l of lines) out(l);
  return lines;
}

if (import.meta.url === `file://${process.argv[1]}`) await main();
