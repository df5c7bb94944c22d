/** What the soak runner and its instance processes say to each other over the IPC channel. */

export interface InstanceConfig {
  transport: 'http' | 'grpc';
  id: string;
  /** etcd client URL (`http://127.0.0.1:PORT`); without it the instance is not registered. */
  etcd?: string;
  /** The etcd directory to register under, e.g. `/soak-http/echo`. */
  prefix?: string;
  /** Lease TTL in seconds. */
  ttl?: number;
  /** Share of calls answered 500 (HTTP) or INTERNAL (gRPC), from 0 to 1. */
  failRate?: number;
  /** Time every call takes, in ms. */
  delayMs?: number;
  seed?: number;
  /** Load everything, say `loaded`, and wait for `start` before listening (a warm spare). */
  standby?: boolean;
}

export type ToInstance =
  | { type: 'start' }
  | { type: 'configure'; failRate?: number; delayMs?: number }
  | { type: 'stats'; ref: number; gc?: boolean; reset?: boolean };

export interface InstanceStats {
  /** Calls of the echo method by client tag. */
  hits: Record<string, number>;
  /** Answers by status (HTTP status, or gRPC code name) as the kitts handler's finalizer saw them. */
  answers: Record<string, number>;
  heapUsed: number;
  rss: number;
  /** process.getActiveResourcesInfo() counts. */
  resources: Record<string, number>;
}

export type FromInstance =
  | { type: 'loaded'; at: number }
  | { type: 'listening'; port: number; at: number }
  | { type: 'registered'; at: number }
  | { type: 'stats'; ref: number; stats: InstanceStats }
  | { type: 'failed'; message: string };
