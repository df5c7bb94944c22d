// An sd Factory for instances named `protocol@address`, as rpcx's XClient lists them:
//
//   tcp@host:port    gRPC over TCP (rpcx's tcp@ is its own binary protocol on raw TCP;
//                    gRPC is the kitts transport that runs on plain TCP)
//   http@host:port   HTTP/1.1 over TCP
//   unix@/path       HTTP/1.1 over a unix socket
//
// The Endpointer calls it once per new instance. Each address gets one gRPC channel or
// one undici pool, released when the instance leaves the list.
import type { Endpoint } from '@kitts/endpoint';
import type { Factory, FactoryResult, Instance } from '@kitts/sd';
import { ChannelPool, createUnaryClient, grpcFactory } from '@kitts/transport-grpc';
import {
  type DecodeResponseFunc,
  httpFactory,
  jsonRequest,
  jsonResponse,
  PoolSet,
} from '@kitts/transport-http';
import { type Args, Arith, type Reply } from './proto.js';

export const PROTOCOLS = {
  tcp: 'gRPC over TCP',
  http: 'HTTP/1.1 over TCP',
  unix: 'HTTP/1.1 over a unix socket',
} as const;

export type Protocol = keyof typeof PROTOCOLS;

/** Splits `protocol@address`; throws a TypeError naming what is wrong. */
export function parseXAddress(value: string): { protocol: Protocol; address: string } {
  const at = value.indexOf('@');
  const protocol = value.slice(0, at);
  const address = value.slice(at + 1);
  if (at <= 0 || address === '' || !(protocol in PROTOCOLS)) {
    throw new TypeError(
      `xclient: ${JSON.stringify(value)} is not protocol@address; use tcp@host:port, http@host:port or unix@/path`,
    );
  }
  if (protocol === 'unix' && !address.startsWith('/'))
    throw new TypeError(`xclient: ${JSON.stringify(value)}: a unix socket needs an absolute path`);
  return { protocol: protocol as Protocol, address };
}

export interface XFactory {
  readonly factory: Factory<Args, Reply>;
  /** Closes every channel and pool (after the Endpointer has been closed). */
  close(): Promise<void>;
}

export function xfactory(): XFactory {
  const channels = new ChannelPool({ client: Arith });
  const pools = new PoolSet();
  const grpcMul = grpcFactory<Args, Reply>(
    (client) => createUnaryClient<Args, Reply, Args, Reply>(client, 'Mul', same, same),
    {
      pool: channels,
    },
  );
  const httpMul = httpFactory<Args, Reply>(
    'POST',
    '/arith/mul',
    jsonRequest,
    jsonResponse() as DecodeResponseFunc<Reply>,
    { pools },
  );
  const factory = (instance: Instance): FactoryResult<Args, Reply> => {
    const { protocol, address } = parseXAddress(instance.address);
    // The transports' own factories take plain addresses: host:port, or unix:/path for undici.
    const made =
      protocol === 'tcp'
        ? grpcMul({ ...instance, address })
        : httpMul({ ...instance, address: protocol === 'unix' ? `unix:${address}` : address });
    return typeof made === 'function' ? { endpoint: made as Endpoint<Args, Reply> } : made;
  };
  return {
    factory,
    close: async () => {
      channels.close();
      await pools.close();
    },
  };
}

const same = <T>(_ctx: unknown, x: T) => x;
