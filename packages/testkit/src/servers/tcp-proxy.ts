/**
 * A TCP proxy on 127.0.0.1 in front of a test server, to cut a client off from it (a
 * network partition) while the server keeps running for everyone else: how tests make
 * an etcd lease or a ZooKeeper session expire, or a watch fall behind a compaction.
 */
import { connect, createServer, type Server, type Socket } from 'node:net';

export interface TcpProxy {
  readonly port: number;
  /** `127.0.0.1:PORT`. */
  readonly address: string;
  /** Resets every open connection and refuses new ones until heal(). */
  cut(): void;
  /** Lets connections through again. */
  heal(): void;
  readonly isCut: boolean;
  /** Connections currently proxied. */
  readonly connections: number;
  close(): Promise<void>;
}

export async function startTcpProxy(target: { port: number; host?: string }): Promise<TcpProxy> {
  const host = target.host ?? '127.0.0.1';
  const pairs = new Set<[Socket, Socket]>();
  let cut = false;

  const server: Server = createServer((inbound) => {
    if (cut) {
      inbound.resetAndDestroy();
      return;
    }
    const outbound = connect({ host, port: target.port });
    const pair: [Socket, Socket] = [inbound, outbound];
    pairs.add(pair);
    const drop = () => {
      if (!pairs.delete(pair)) return;
      inbound.destroy();
      outbound.destroy();
    };
    inbound.on('error', drop).on('close', drop);
    outbound.on('error', drop).on('close', drop);
    inbound.pipe(outbound);
    outbound.pipe(inbound);
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  const addr = server.address();
  const port = typeof addr === 'object' && addr !== null ? addr.port : 0;

  return {
    port,
    address: `127.0.0.1:${port}`,
    get isCut() {
      return cut;
    },
    get connections() {
      return pairs.size;
    },
    cut() {
      cut = true;
      for (const pair of [...pairs]) {
        pairs.delete(pair);
        // A reset, not a FIN: the client sees its connection fail, as in a partition
        // where the first packet after it draws an RST.
        pair[0].resetAndDestroy();
        pair[1].resetAndDestroy();
      }
    },
    heal() {
      cut = false;
    },
    close() {
      cut = true;
      for (const [a, b] of pairs) {
        a.destroy();
        b.destroy();
      }
      pairs.clear();
      return new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
