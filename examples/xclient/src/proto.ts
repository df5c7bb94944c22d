// The Arith service for gRPC (tcp@ instances), loaded from proto/arith.proto. HTTP
// instances carry the same messages as JSON.
import { fileURLToPath } from 'node:url';
import { loadPackageDefinition, type ServiceClientConstructor } from '@grpc/grpc-js';
import { loadSync } from '@grpc/proto-loader';

const definition = loadSync(fileURLToPath(new URL('../proto/arith.proto', import.meta.url)), {
  keepCase: true,
  longs: Number,
  defaults: true,
});

export const Arith = (
  loadPackageDefinition(definition) as unknown as { arith: { v1: { Arith: ServiceClientConstructor } } }
).arith.v1.Arith;

export interface Args {
  a: number;
  b: number;
}
export interface Reply {
  c: number;
  served_by: string;
}
