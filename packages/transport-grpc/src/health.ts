/**
 * The standard gRPC health service (grpc.health.v1.Health: Check, Watch and List), so
 * Consul's gRPC checks, Kubernetes' grpc probes and grpc_health_probe work against a
 * kitts server, and `checkHealth` to ask any server the same question.
 */
import {
  type ChannelCredentials,
  type ChannelOptions,
  Client,
  credentials as grpcCredentials,
  type handleServerStreamingCall,
  type handleUnaryCall,
  type ServerWritableStream,
  type ServiceDefinition,
  status as Status,
  type UntypedServiceImplementation,
} from '@grpc/grpc-js';
import { background, type Context, withTimeout } from '@kitts/endpoint';
import { createUnaryClient } from './client.js';
import { GrpcError } from './grpc-error.js';
import {
  decodeListRequest,
  decodeListResponse,
  decodeRequest,
  decodeResponse,
  encodeListRequest,
  encodeListResponse,
  encodeRequest,
  encodeResponse,
  type HealthCheckRequest,
  type HealthCheckResponse,
  type HealthListResponse,
  type ServingStatus,
  setOwn,
} from './health-codec.js';

export type { HealthCheckRequest, HealthCheckResponse, HealthListResponse, ServingStatus };

const PREFIX = '/grpc.health.v1.Health/';

/** The service definition of grpc.health.v1.Health, for `server.addService` or a client. */
export const healthDefinition = {
  Check: {
    path: `${PREFIX}Check`,
    originalName: 'check',
    requestStream: false,
    responseStream: false,
    requestSerialize: encodeRequest,
    requestDeserialize: decodeRequest,
    responseSerialize: encodeResponse,
    responseDeserialize: decodeResponse,
  },
  Watch: {
    path: `${PREFIX}Watch`,
    originalName: 'watch',
    requestStream: false,
    responseStream: true,
    requestSerialize: encodeRequest,
    requestDeserialize: decodeRequest,
    responseSerialize: encodeResponse,
    responseDeserialize: decodeResponse,
  },
  List: {
    path: `${PREFIX}List`,
    originalName: 'list',
    requestStream: false,
    responseStream: false,
    requestSerialize: encodeListRequest,
    requestDeserialize: decodeListRequest,
    responseSerialize: encodeListResponse,
    responseDeserialize: decodeListResponse,
  },
} as const satisfies ServiceDefinition;

/** What a server-side status may be set to; SERVICE_UNKNOWN is what Watch says for unknown names. */
export type SettableStatus = Exclude<ServingStatus, 'SERVICE_UNKNOWN'>;

export interface HealthService {
  readonly service: ServiceDefinition;
  readonly implementation: UntypedServiceImplementation;
  /** Set a service's status (`''` is the whole server); watchers hear every change. */
  setStatus(service: string, status: SettableStatus): void;
  /** Forget a service: Check answers NOT_FOUND, watchers hear SERVICE_UNKNOWN. */
  clearStatus(service: string): void;
  /** The status Check would report, or undefined for an unknown service. */
  status(service: string): SettableStatus | undefined;
  /**
   * Going down: every service becomes NOT_SERVING (so balancers and probes drain it),
   * later setStatus calls are ignored, and open Watch streams end, which lets
   * `server.tryShutdown` finish instead of waiting on them forever.
   */
  shutdown(): void;
}

type Watch = ServerWritableStream<HealthCheckRequest, HealthCheckResponse>;

const MAX_SERVICE_NAME = 1024;

/** A health service; `''` (the server as a whole) starts SERVING unless `initial` says otherwise. */
export function healthService(
  initial: Readonly<Record<string, SettableStatus>> = { '': 'SERVING' },
): HealthService {
  const statuses = new Map<string, SettableStatus>(Object.entries(initial));
  const watchers = new Map<string, Map<Watch, ServingStatus>>();
  let shuttingDown = false;

  const current = (service: string): ServingStatus => statuses.get(service) ?? 'SERVICE_UNKNOWN';

  function send(call: Watch, status: ServingStatus, last: Map<Watch, ServingStatus>): void {
    if (last.get(call) === status) return;
    last.set(call, status);
    call.write({ status });
  }

  function notify(service: string): void {
    const set = watchers.get(service);
    if (set === undefined) return;
    const status = current(service);
    for (const call of set.keys()) send(call, status, set);
  }

  const Check: handleUnaryCall<HealthCheckRequest, HealthCheckResponse> = (call, callback) => {
    const status = statuses.get(call.request.service);
    if (status === undefined)
      callback({ code: Status.NOT_FOUND, details: `unknown service ${call.request.service}` });
    else callback(null, { status });
  };

  const Watch: handleServerStreamingCall<HealthCheckRequest, HealthCheckResponse> = (call) => {
    const { service } = call.request;
    if (service.length > MAX_SERVICE_NAME) {
      call.emit('error', { code: Status.INVALID_ARGUMENT, details: 'service name too long' });
      return;
    }
    if (shuttingDown) {
      call.write({ status: current(service) });
      call.end();
      return;
    }
    let set = watchers.get(service);
    if (set === undefined) watchers.set(service, (set = new Map()));
    const mine = set;
    const forget = () => {
      mine.delete(call);
      if (mine.size === 0 && watchers.get(service) === mine) watchers.delete(service);
    };
    call.once('cancelled', forget);
    // A write to a call the client already left fails; the call is forgotten either way.
    call.on('error', forget);
    send(call, current(service), mine);
  };

  const List: handleUnaryCall<Record<string, never>, HealthListResponse> = (_call, callback) => {
    const out: Record<string, HealthCheckResponse> = {};
    for (const [name, status] of statuses) setOwn(out, name, { status });
    callback(null, { statuses: out });
  };

  return {
    service: healthDefinition,
    implementation: { Check, Watch, List } as UntypedServiceImplementation,
    setStatus(service, status) {
      if (typeof service !== 'string')
        throw new TypeError('kitts: setStatus needs a service name (a string)');
      if (status !== 'SERVING' && status !== 'NOT_SERVING' && status !== 'UNKNOWN') {
        throw new TypeError(
          `kitts: ${String(status)} is not a serving status (SERVING, NOT_SERVING, UNKNOWN)`,
        );
      }
      if (shuttingDown) return;
      statuses.set(service, status);
      notify(service);
    },
    clearStatus(service) {
      if (shuttingDown || !statuses.delete(service)) return;
      notify(service);
    },
    status: (service) => statuses.get(service),
    shutdown() {
      if (shuttingDown) return;
      for (const name of statuses.keys()) {
        statuses.set(name, 'NOT_SERVING');
        notify(name);
      }
      shuttingDown = true;
      for (const set of watchers.values()) for (const call of set.keys()) call.end();
      watchers.clear();
    },
  };
}

export interface CheckHealthOptions {
  /** How long to wait for the answer, in ms (default 1000); the context's deadline also applies. */
  timeout?: number;
  context?: Context;
  credentials?: ChannelCredentials;
  channelOptions?: ChannelOptions;
}

/**
 * Ask the server at `address` how `service` is (`''`: the server as a whole), as
 * grpc_health_probe does. An unknown service reads SERVICE_UNKNOWN; a server that cannot
 * be reached or answers another error rejects with a GrpcError.
 */
export async function checkHealth(
  address: string,
  service = '',
  options: CheckHealthOptions = {},
): Promise<ServingStatus> {
  const { timeout = 1000, context = background() } = options;
  const client = new Client(
    address,
    options.credentials ?? grpcCredentials.createInsecure(),
    options.channelOptions,
  );
  const check = createUnaryClient(
    client,
    healthDefinition.Check,
    (_ctx, name: string): HealthCheckRequest => ({ service: name }),
    (_ctx, m: HealthCheckResponse) => m.status,
  );
  const [ctx, cancel] = withTimeout(context, timeout);
  try {
    return await check(ctx, service);
  } catch (e) {
    if (e instanceof GrpcError && e.code === Status.NOT_FOUND) return 'SERVICE_UNKNOWN';
    throw e;
  } finally {
    cancel();
    client.close();
  }
}
