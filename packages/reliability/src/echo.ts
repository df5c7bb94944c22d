/**
 * The service every soak instance serves, over HTTP or gRPC, and what a client needs to
 * call it: the proto, its loaded client class, and the request schemas the servers check.
 */
import { fileURLToPath } from 'node:url';
import type * as grpcjs from '@grpc/grpc-js';
import { z } from 'zod';

export const PROTO_PATH = fileURLToPath(new URL('../proto/echo.proto', import.meta.url));
/** The repository root, where `--import tsx` resolves for child processes. */
export const REPO_ROOT = fileURLToPath(new URL('../../../', import.meta.url));

/**
 * The proto-loader client class of `soak.Echo`, loaded on first use: an HTTP instance
 * never pays for proto-loader.
 */
export async function echoClient(): Promise<grpcjs.ServiceClientConstructor> {
  const [grpc, protoLoader] = await Promise.all([import('@grpc/grpc-js'), import('@grpc/proto-loader')]);
  const definition = protoLoader.loadSync(PROTO_PATH, { keepCase: true, longs: Number, defaults: true });
  const loaded = grpc.loadPackageDefinition(definition) as unknown as {
    soak: { Echo: grpcjs.ServiceClientConstructor };
  };
  return loaded.soak.Echo;
}
export const ECHO_GET_PATH = '/soak.Echo/Get';

/** Path parameters of GET /items/:key. */
export const ItemKey = z.object({ key: z.string().min(1).max(64) });
/** Body of POST /items, and the gRPC request (n is a proto int32). */
export const Item = z.object({ key: z.string().min(1).max(64), n: z.number().int().min(0).max(1_000_000) });
/** Query of GET /search. */
export const Search = z.object({
  q: z.string().min(1).max(100),
  page: z.coerce.number().int().min(1).optional(),
});

export interface Reply {
  key: string;
  served_by: string;
  n: number;
}

/** The header (HTTP) or metadata key (gRPC) a soak client names itself with, for per-client counts. */
export const CLIENT_TAG = 'x-soak-client';
