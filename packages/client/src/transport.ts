import type { Endpoint } from '@kitts/endpoint';
import type { Instance } from '@kitts/sd';

/** The endpoints of one service, by method name. */
export type MethodTable = Record<string, Endpoint<any, any>>;

/** What a transport opens for one instance: one connection, every method's endpoint on it. */
export interface Connection<M extends MethodTable> {
  readonly endpoints: M;
  close(): void | Promise<void>;
  /** False while the connection cannot carry calls (a gRPC channel in TRANSIENT_FAILURE). */
  available?(): boolean;
}

/**
 * How a serviceClient talks to instances: `http(...)` from `@kitts/client/http` or
 * `grpc(...)` from `@kitts/client/grpc`. One Connection per instance is shared by every
 * method of the service.
 */
export interface ServiceTransport<M extends MethodTable> {
  /** Method names and whether each is safe to retry. */
  readonly methods: { readonly [K in keyof M]: { readonly idempotent: boolean } };
  connect(instance: Instance): Connection<M>;
  /** Release what every connection shares (pools); called by the client's close(). */
  close(): Promise<void>;
}
