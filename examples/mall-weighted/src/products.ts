// One instance of the product service: `GET /products/:sku` and `GET /health`, over HTTP.
// Two switches break it in the two ways the example needs: `failing` makes the product
// route answer 503 while /health still says OK (a bug, caught by retries), `healthy = false`
// makes /health answer 503 (maintenance, caught by health checks).
import { createServer, type Server } from 'node:http';
import type { Context, Endpoint } from '@kitts/endpoint';
import { createHandler, createRouter, encodeJSON, pathParamsKey } from '@kitts/transport-http';

export interface Product {
  sku: string;
  name: string;
  cents: number;
  served_by: string;
}

const CATALOG: Readonly<Record<string, { name: string; cents: number }>> = {
  'sku-1': { name: 'kettle', cents: 2999 },
  'sku-2': { name: 'teapot', cents: 1999 },
  'sku-3': { name: 'mug', cents: 599 },
};

export interface ProductInstance {
  readonly name: string;
  readonly server: Server;
  failing: boolean;
  healthy: boolean;
  /** Calls answered 200 / answered 503, for the printout. */
  readonly answered: number;
  readonly failed: number;
}

class HttpStatusError extends Error {
  constructor(
    readonly statusCode: number,
    message: string,
  ) {
    super(message);
  }
}

export function productInstance(name: string): ProductInstance {
  let answered = 0;
  let failed = 0;
  const state = { failing: false, healthy: true };

  const get: Endpoint<{ sku: string }, Product> = async (_ctx, { sku }) => {
    if (state.failing) {
      failed++;
      // 503: temporarily unable, nothing done; a client may try another instance.
      throw new HttpStatusError(503, `${name}: database connection lost`);
    }
    const item = CATALOG[sku];
    if (item === undefined) throw new HttpStatusError(404, `no product ${sku}`);
    answered++;
    return { sku, ...item, served_by: name };
  };
  const health: Endpoint<unknown, { status: string; statusCode(): number }> = async () => {
    const up = state.healthy;
    return { status: up ? 'ok' : 'maintenance', statusCode: () => (up ? 200 : 503) };
  };

  // The router puts path parameters in the context; `:sku` is always there for this route.
  const decodeSku = (ctx: Context) => ({ sku: ctx.value(pathParamsKey)?.sku ?? '' });
  const server = createServer(
    createRouter([
      { method: 'GET', path: '/products/:sku', handler: createHandler(get, decodeSku, encodeJSON) },
      { method: 'GET', path: '/health', handler: createHandler(health, () => undefined, encodeJSON) },
    ]),
  );
  return {
    name,
    server,
    get failing() {
      return state.failing;
    },
    set failing(v: boolean) {
      state.failing = v;
    },
    get healthy() {
      return state.healthy;
    },
    set healthy(v: boolean) {
      state.healthy = v;
    },
    get answered() {
      return answered;
    },
    get failed() {
      return failed;
    },
  };
}
