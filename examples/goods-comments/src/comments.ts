// The comments service: one instance = one HTTP server with a local cache. With
// consistent hashing upstream, each goods id always lands on the same instance, so that
// instance's cache stays warm.
import { createServer } from 'node:http';
import { type ListenAddress, type Served, serve } from '@kitts/client';
import type { Endpoint } from '@kitts/endpoint';
import type { Registrar } from '@kitts/sd';
import {
  createHandler,
  createRouter,
  encodeJSON,
  pathParams,
  type StandardSchemaV1,
} from '@kitts/transport-http';

export interface Comments {
  goodsId: string;
  comments: string[];
  /** Which instance answered, and whether its cache already had the answer. */
  instance: string;
  cached: boolean;
}

export interface CommentsInstance {
  readonly name: string;
  readonly address: string;
  /** Answer 503 to everything while true: a sick instance. */
  failing: boolean;
  /** Requests answered successfully. */
  readonly served: number;
  /** Requests that reached this instance at all, failing or not. */
  readonly attempts: number;
  close(): Promise<void>;
}

// A path-parameter schema in the Standard Schema shape (zod, valibot or arktype fit here too).
const idParam: StandardSchemaV1<unknown, { id: string }> = {
  '~standard': {
    version: 1,
    vendor: 'goods-comments',
    validate: (v: unknown) => {
      const id = (v as { id?: unknown })?.id;
      return typeof id === 'string' && /^[\w-]{1,64}$/.test(id)
        ? { value: { id } }
        : { issues: [{ message: 'expected an id of 1-64 word characters', path: ['id'] }] };
    },
  },
};

export async function startCommentsInstance(
  name: string,
  registrar: (address: ListenAddress) => Registrar,
): Promise<CommentsInstance> {
  const cache = new Map<string, string[]>();
  let served = 0;
  let attempts = 0;
  const state = { failing: false };

  const getComments: Endpoint<{ id: string }, Comments> = async (_ctx, { id }) => {
    attempts++;
    if (state.failing) throw Object.assign(new Error(`${name} is unwell`), { statusCode: 503 });
    served++;
    const hit = cache.get(id);
    if (hit !== undefined) return { goodsId: id, comments: hit, instance: name, cached: true };
    const comments = [`${id} is great`, `${id} arrived on time`];
    cache.set(id, comments);
    return { goodsId: id, comments, instance: name, cached: false };
  };

  const server = createServer(
    createRouter([
      {
        method: 'GET',
        path: '/comments/:id',
        handler: createHandler(getComments, pathParams(idParam), encodeJSON),
      },
    ]),
  );
  const s: Served = await serve({ server, registrar, signals: false, drainTimeout: 500 });
  return {
    name,
    address: s.address,
    get failing() {
      return state.failing;
    },
    set failing(v: boolean) {
      state.failing = v;
    },
    get served() {
      return served;
    },
    get attempts() {
      return attempts;
    },
    close: () => s.close(),
  };
}
