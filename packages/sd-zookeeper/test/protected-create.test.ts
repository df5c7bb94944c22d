import { connect, createServer, type Server, type Socket } from 'node:net';
import { startZookeeper, type ZookeeperServer } from '@kitts/testkit';
import { expect } from 'chai';
import { ZkClient, zkRegistrar } from '../src/index.js';

/**
 * A front for ZooKeeper that hangs up on the client right after passing on the first
 * request whose bytes contain `marker`: the server carries the request out, the client
 * never hears the answer (a connection loss in the middle of a create).
 */
async function losesAnswerTo(
  zkPort: number,
  marker: string,
): Promise<{ address: string; close(): Promise<void> }> {
  let armed = true;
  const sockets = new Set<Socket>();
  const server: Server = createServer((inbound) => {
    const outbound = connect({ host: '127.0.0.1', port: zkPort });
    for (const s of [inbound, outbound]) {
      sockets.add(s);
      s.on('close', () => sockets.delete(s));
      s.on('error', () => {});
    }
    inbound.on('close', () => outbound.destroy());
    outbound.on('close', () => inbound.destroy());
    outbound.pipe(inbound);
    inbound.on('data', (chunk: Buffer) => {
      outbound.write(chunk);
      if (armed && chunk.includes(Buffer.from(marker))) {
        armed = false;
        outbound.end(); // the request is delivered, then the server sees the client leave
        inbound.destroy();
      }
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

describe('zkRegistrar when the connection drops during its create', function () {
  this.timeout(20_000);
  let zk: ZookeeperServer;
  before(async () => {
    zk = await startZookeeper();
  });
  after(async () => {
    await zk?.stop();
  });

  it('finds the node the server created instead of creating a second one', async () => {
    const front = await losesAnswerTo(zk.port, '/svc/p1.');
    const client = new ZkClient(front.address, { sessionTimeout: 4000, spinDelay: 20 });
    const admin = new ZkClient(zk.connectionString);
    try {
      const registrar = zkRegistrar(client, {
        path: '/protected/svc',
        instance: { id: 'p1', address: 'h:1' },
      });
      await registrar.register();
      const children = await admin.getChildren('/protected/svc');
      expect(children).to.have.length(1);
      expect(registrar.node).to.equal(`/protected/svc/${children[0]}`);
      await registrar.deregister();
      expect(await admin.getChildren('/protected/svc')).to.deep.equal([]);
    } finally {
      await client.close();
      await admin.close();
      await front.close();
    }
  });
});
