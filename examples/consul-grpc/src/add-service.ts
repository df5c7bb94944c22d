// One instance of the add service: the Add endpoint over gRPC, next to the standard
// grpc.health.v1 health service (kitts' healthService) that health checks ask.
import { Server } from '@grpc/grpc-js';
import type { Endpoint } from '@kitts/endpoint';
import { createUnaryHandler, type HealthService, healthService } from '@kitts/transport-grpc';
import { ADD_SERVICE_NAME, type AddReply, type AddRequest, AddService } from './proto.js';

export interface AddInstance {
  readonly name: string;
  readonly server: Server;
  /** `health.setStatus(ADD_SERVICE_NAME, 'NOT_SERVING')` takes the instance out of rotation. */
  readonly health: HealthService;
  /** Calls this instance has answered. */
  readonly calls: number;
}

export function addInstance(name: string): AddInstance {
  let calls = 0;
  const add: Endpoint<AddRequest, AddReply> = async (_ctx, { a, b }) => {
    calls++;
    return { sum: a + b, served_by: name };
  };
  // '' is the server as a whole; the service's own name is what a check on it asks about.
  const health = healthService({ '': 'SERVING', [ADD_SERVICE_NAME]: 'SERVING' });
  const server = new Server();
  const same = <T>(_ctx: unknown, x: T) => x;
  server.addService(AddService.service, { Add: createUnaryHandler(add, same, same) });
  server.addService(health.service, health.implementation);
  return {
    name,
    server,
    health,
    get calls() {
      return calls;
    },
  };
}
