import type { Endpoint } from '@kitts/endpoint';

/** One running instance of a service, as a registry knows it. */
export interface Instance {
  /** Unique within the service; the Endpointer keys its cache on it. */
  readonly id: string;
  /** `host:port` or `unix:/path`. */
  readonly address: string;
  /** Relative weight for weighted balancers; 1 when absent. */
  readonly weight?: number;
  readonly tags?: readonly string[];
  readonly meta?: Readonly<Record<string, string>>;
}

/**
 * What an Instancer reports: the full current set, or a registry failure. When `error`
 * is set, `instances` carries no information (adapters may send []): consumers keep
 * what they had.
 */
export interface InstancerEvent {
  readonly instances: readonly Instance[];
  readonly error?: Error;
}

export type InstancerListener = (event: InstancerEvent) => void;

/**
 * A source of instance sets. `subscribe` delivers the current state synchronously, then
 * every change; an event equal to the current state is not delivered again.
 */
export interface Instancer {
  subscribe(listener: InstancerListener): () => void;
  close(): Promise<void>;
}

/** What a Factory may return instead of a bare Endpoint. */
export interface FactoryResult<Req, Res> {
  readonly endpoint: Endpoint<Req, Res>;
  /** Release connections for this instance; called when it leaves the set. */
  close?(): void | Promise<void>;
  /** False while the instance should not get traffic (an open per-instance breaker). */
  available?(): boolean;
}

/** Turns an Instance into an Endpoint that calls it. */
export type Factory<Req, Res> = (instance: Instance) => Endpoint<Req, Res> | FactoryResult<Req, Res>;

/** One usable instance in an EndpointSet. */
export interface Entry<Req, Res> {
  readonly instance: Instance;
  readonly endpoint: Endpoint<Req, Res>;
  available?(): boolean;
}

/** An immutable snapshot; `version` increases on every effective change. */
export interface EndpointSet<Req, Res> {
  readonly version: number;
  /** Sorted by instance id. */
  readonly entries: readonly Entry<Req, Res>[];
}

/** Registers one instance with a registry, as go-kit's sd.Registrar. */
export interface Registrar {
  register(): Promise<void>;
  deregister(): Promise<void>;
}
