import { connect, createServer, type Server, type Socket } from 'node:net';
import {
  assertNoLeaks,
  baseline,
  startTcpProxy,
  startZookeeper,
  waitFor,
  type ZookeeperServer,
} from '@kitts/testkit';
import { expect } from 'chai';
import { ZkClient } from '../src/index.js';

/**
 * A server in front of ZooKeeper whose first connection misbehaves in a chosen way;
 * later connections are passed through (after `delay` ms per chunk towards the client).
 */
async function misbehaving(
  zkPort: number,
  first: 'truncate' | 'silent' | 'pass',
  delay = 0,
): Promise<{ address: string; close(): Promise<void> }> {
  let connections = 0;
  const sockets = new Set<Socket>();
  const server: Server = createServer((inbound) => {
    sockets.add(inbound);
    inbound.on('close', () => sockets.delete(inbound));
    inbound.on('error', () => {});
    if (++connections === 1 && first !== 'pass') {
      inbound.once('data', () => {
        // Half a frame header, then hang up: the client is left with 2 bytes of nothing.
        if (first === 'truncate') inbound.end(Buffer.from([0, 0]));
        // 'silent': read the handshake and never answer.
      });
      return;
    }
    const outbound = connect({ host: '127.0.0.1', port: zkPort });
    sockets.add(outbound);
    outbound.on('close', () => {
      sockets.delete(outbound);
      inbound.destroy();
    });
    outbound.on('error', () => {});
    inbound.on('close', () => outbound.destroy());
    inbound.pipe(outbound);
    outbound.on('data', (chunk: Buffer) => {
      if (delay === 0) inbound.write(chunk);
      else setTimeout(() => inbound.destroyed || inbound.write(chunk), delay);
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  const { port } = server.address() as { port: number };
  return {
    address: `127.0.0.1:${port}`,
    close: async () => {
      for (const s of sockets) s.destroy();
      await new Promise<void>((r) => server.close(() => r()));
    },
  };
}

describe('ZkClient over node-zookeeper-client', function () {
  this.timeout(20_000);
  let zk: ZookeeperServer;
  before(async () => {
    zk = await startZookeeper();
  });
  after(async () => {
    await zk?.stop();
  });

  it('connects after a connection that died in the middle of a frame (stale bytes are dropped)', async () => {
    const front = await misbehaving(zk.port, 'truncate');
    const client = new ZkClient(front.address, { sessionTimeout: 2000, spinDelay: 20 });
    try {
      await client.connected();
      expect(await client.getChildren('/')).to.include('zookeeper');
    } finally {
      await client.close();
      await front.close();
    }
  });

  it('dials again when the server never answers the handshake', async () => {
    const front = await misbehaving(zk.port, 'silent');
    // Handshake timeout: 2/3 of the session timeout.
    const client = new ZkClient(front.address, { sessionTimeout: 600, spinDelay: 20 });
    try {
      await client.connected();
      expect(client.sessionId).to.match(/^[0-9a-f]{16}$/);
    } finally {
      await client.close();
      await front.close();
    }
  });

  it('closes during the handshake without an exception from the socket handler, leaving no handles', async () => {
    const base = await baseline();
    const front = await misbehaving(zk.port, 'pass', 150);
    const client = new ZkClient(front.address, { sessionTimeout: 2000, spinDelay: 20 });
    await new Promise((r) => setTimeout(r, 50)); // handshake sent, its answer still held back
    expect(client.state).to.equal('connecting');
    await client.close();
    await new Promise((r) => setTimeout(r, 200)); // when the held answer would have arrived
    await front.close();
    await assertNoLeaks(base);
  });

  it('reports a new session after expiry and tells its subscribers', async () => {
    const events: string[] = [];
    const proxy = await startTcpProxy({ port: zk.port });
    const client = new ZkClient(proxy.address, { sessionTimeout: 1000, spinDelay: 20 });
    client.onEvent((e) =>
      events.push(e.type === 'connected' ? `connected${e.newSession ? ' (new)' : ''}` : e.type),
    );
    try {
      await client.connected();
      const first = client.sessionId;
      proxy.cut();
      await new Promise((r) => setTimeout(r, 1500)); // the server expires the session after 1 s
      proxy.heal();
      await waitFor(() => client.sessionId !== first && client.state === 'connected', {
        what: 'a new session',
      });
      expect(events).to.deep.equal(['connected (new)', 'disconnected', 'expired', 'connected (new)']);
    } finally {
      await client.close();
      await proxy.close();
    }
    expect(events.at(-1)).to.equal('closed');
    let err: unknown;
    await client.getChildren('/').catch((e) => (err = e));
    expect(err).to.have.property('name', 'ZkClosedError');
  });
});
