// The AddService definition, loaded from proto/add.proto with proto-loader.
import { fileURLToPath } from 'node:url';
import { loadPackageDefinition, type ServiceClientConstructor } from '@grpc/grpc-js';
import { loadSync } from '@grpc/proto-loader';

const definition = loadSync(fileURLToPath(new URL('../proto/add.proto', import.meta.url)), {
  keepCase: true,
  longs: Number,
  defaults: true,
});

export const AddService = (
  loadPackageDefinition(definition) as unknown as { add: { v1: { AddService: ServiceClientConstructor } } }
).add.v1.AddService;

/** The name the health service reports on, as gRPC health checks address it: the full service name. */
export const ADD_SERVICE_NAME = 'add.v1.AddService';

export interface AddRequest {
  a: number;
  b: number;
}
export interface AddReply {
  sum: number;
  served_by: string;
}
