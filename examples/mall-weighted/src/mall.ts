// The mall: a client of the product service, wired by hand so each piece shows, and the
// mall's own HTTP front door.
//
//   discover(url) -> weightsFromMeta -> Endpointer(httpFactory + instrument per instance)
//     -> weightedRoundRobin -> retry (another instance on failure)          = getProduct
//   front door: GET /products/:sku -> countRejections -> erroring(tokenBucket) -> getProduct
//               GET /metrics       -> metricsHandler (prom-client text)
import { createServer } from 'node:http';
import { type DiscoverOptions, discover } from '@kitts/client';
import { type Context, chain, type Endpoint } from '@kitts/endpoint';
import { retry, weightedRoundRobin } from '@kitts/lb';
import { countRejections, instrument, metricsHandler, observeEndpointer } from '@kitts/metrics';
import { erroring, tokenBucket } from '@kitts/ratelimit';
import { Endpointer, type Factory, type FactoryResult } from '@kitts/sd';
import {
  createHandler,
  createRouter,
  type DecodeResponseFunc,
  encodeJSON,
  httpFactory,
  jsonResponse,
  PoolSet,
  pathParamsKey,
  shutdown,
} from '@kitts/transport-http';
import { Registry } from 'prom-client';
import type { Product } from './products.js';
import { weightsFromMeta } from './weights.js';

export interface Sku {
  sku: string;
}

export interface MallOptions {
  discovery: string;
  discoverOptions?: DiscoverOptions;
  /** The front door's token bucket. */
  limit: { rate: number; burst: number };
}

export interface Mall {
  /** Weighted round robin over passing instances, retried on another instance on failure. */
  readonly getProduct: Endpoint<Sku, Product>;
  readonly endpointer: Endpointer<Sku, Product>;
  /** `http://127.0.0.1:PORT` of the front door (GET /products/:sku, GET /metrics). */
  readonly url: string;
  readonly metrics: Registry;
  close(): Promise<void>;
}

export async function startMall(options: MallOptions): Promise<Mall> {
  const metrics = new Registry();
  const instancer = weightsFromMeta(discover(options.discovery, 'product', options.discoverOptions));

  // One undici pool per instance; every call counted per instance (the `instance` label).
  const pools = new PoolSet();
  const fetchProduct = httpFactory<Sku, Product>(
    'GET',
    '/products',
    (_ctx, { sku }, out) => {
      out.path = `/products/${encodeURIComponent(sku)}`;
    },
    jsonResponse() as DecodeResponseFunc<Product>,
    { pools },
  );
  const factory: Factory<Sku, Product> = (instance) => {
    const made = fetchProduct(instance) as FactoryResult<Sku, Product>;
    const counted = instrument({ name: 'product.get', registry: metrics, labels: { instance: instance.id } });
    return { ...made, endpoint: counted(made.endpoint) };
  };
  const endpointer = new Endpointer(instancer, factory);
  // kitts_sd_instances{service="product"}.
  const unobserve = observeEndpointer(endpointer, {
    service: 'product',
    registry: metrics,
  });

  // Up to 3 attempts within 2 s; each retry avoids the instances that already failed the call.
  const getProduct = retry(weightedRoundRobin(endpointer), {
    max: 3,
    timeout: 2000,
    backoff: { base: 10, cap: 100 },
  });

  // The front door admits `burst` requests at once, then `rate` per second; the rest get 429.
  const limited = chain(
    countRejections({ name: 'mall.products', registry: metrics }),
    erroring(tokenBucket(options.limit)),
  )(getProduct);
  const decodeSku = (ctx: Context): Sku => ({ sku: ctx.value(pathParamsKey)?.sku ?? '' });
  const server = createServer(
    createRouter([
      { method: 'GET', path: '/products/:sku', handler: createHandler(limited, decodeSku, encodeJSON) },
      { method: 'GET', path: '/metrics', handler: metricsHandler(metrics) },
    ]),
  );
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  const { port } = server.address() as { port: number };

  return {
    getProduct,
    endpointer,
    url: `http://127.0.0.1:${port}`,
    metrics,
    close: async () => {
      await shutdown(server, { timeout: 1000 });
      unobserve();
      await endpointer.close();
      await instancer.close();
      await pools.close();
    },
  };
}
