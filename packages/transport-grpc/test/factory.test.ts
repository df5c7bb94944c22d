import { type Client, connectivityState, type handleUnaryCall, status } from '@grpc/grpc-js';
import { background, type Context } from '@kitts/endpoint';
import { Endpointer, FixedInstancer, type Instance, MemoryRegistry } from '@kitts/sd';
import { assertNoLeaks, baseline, waitFor } from '@kitts/testkit';
import { expect } from 'chai';
import { ChannelPool, createUnaryClient, GrpcError, grpcFactory } from '../src/index.js';
import { type Running, startServer } from './fixture.js';
import { EchoClient, type EchoRequest, type EchoResponse, EchoService } from './generated/echo.js';

const toMessage = (_ctx: Context, text: string): EchoRequest => ({ message: text, number: 0, tags: [] });
const fromMessage = (_ctx: Context, m: EchoResponse) => m.message;

function named(name: string): handleUnaryCall<EchoRequest, EchoResponse> {
  return (call, cb) => cb(null, { ...call.request, message: `${name}:${call.request.message}` });
}

const stateOf = (c: Client) => c.getChannel().getConnectivityState(false);

describe('grpcFactory and ChannelPool', () => {
  let base: Map<string, number>;
  const servers: Running[] = [];

  before(async () => {
    base = await baseline();
  });

  afterEach(async () => {
    for (const s of servers.splice(0)) await s.close();
  });

  after(async () => {
    await assertNoLeaks(base);
  });

  async function server(name: string): Promise<Instance> {
    const s = await startServer((srv) =>
      srv.addService(EchoService, { echo: named(name), reverse: named(`${name}-rev`), count: () => {} }),
    );
    servers.push(s);
    return { id: name, address: s.address };
  }

  it('shares one channel per instance across the methods of a service, and closes it when the instance leaves', async () => {
    const registry = new MemoryRegistry();
    const a = await server('a');
    const b = await server('b');
    const ra = registry.registrar('echo', a);
    const rb = registry.registrar('echo', b);
    await ra.register();
    await rb.register();

    const pool = new ChannelPool({ client: EchoClient });
    const seen: Client[] = [];
    const echoes = new Endpointer(
      registry.instancer('echo'),
      grpcFactory(
        (c) => {
          seen.push(c);
          return createUnaryClient(c, 'echo', toMessage, fromMessage);
        },
        { pool },
      ),
    );
    const reverses = new Endpointer(
      registry.instancer('echo'),
      grpcFactory(
        (c) => {
          seen.push(c);
          return createUnaryClient(c, 'reverse', toMessage, fromMessage);
        },
        { pool },
      ),
    );
    expect(pool.size).to.equal(2);
    // Four endpoints (2 methods x 2 instances) on two channels: each instance's client is shared.
    expect(seen).to.have.length(4);
    expect(new Set(seen).size).to.equal(2);

    const have: string[] = [];
    for (const set of [echoes.current(), reverses.current()]) {
      for (const entry of set.entries) have.push(await entry.endpoint(background(), 'x'));
    }
    expect(have).to.deep.equal(['a:x', 'b:x', 'a-rev:x', 'b-rev:x']);

    const clientOfA = seen[0]!;
    await ra.deregister();
    await waitFor(() => echoes.current().entries.length === 1 && reverses.current().entries.length === 1);
    expect(pool.size).to.equal(1);
    expect(stateOf(clientOfA)).to.equal(connectivityState.SHUTDOWN);
    expect(await echoes.current().entries[0]!.endpoint(background(), 'y')).to.equal('b:y');

    await echoes.close();
    expect(pool.size).to.equal(1);
    await reverses.close();
    expect(pool.size).to.equal(0);
    await rb.deregister();
  });

  it('marks an entry unavailable while its channel cannot connect', async () => {
    const live = await server('live');
    const dead = await server('dead');
    await servers.pop()!.close();
    const endpointer = new Endpointer(
      new FixedInstancer([live, dead]),
      grpcFactory((c) => createUnaryClient(c, EchoService.echo, toMessage, fromMessage)),
    );
    const [deadEntry, liveEntry] = endpointer.current().entries;
    expect(deadEntry!.instance.id).to.equal('dead');
    const err = await deadEntry!.endpoint(background(), 'x').catch((e: unknown) => e);
    expect(err).to.be.instanceOf(GrpcError).with.property('code', status.UNAVAILABLE);
    await waitFor(() => deadEntry!.available?.() === false, { what: 'the dead channel to fail' });
    expect(await liveEntry!.endpoint(background(), 'x')).to.equal('live:x');
    expect(liveEntry!.available?.()).to.equal(true);
    await endpointer.close();
  });

  it('releases the channel when building the endpoint fails, and refuses instances without an address', () => {
    const pool = new ChannelPool();
    const factory = grpcFactory(
      () => {
        throw new Error('bad method');
      },
      { pool },
    );
    expect(() => factory({ id: 'x', address: '127.0.0.1:1' })).to.throw('bad method');
    expect(pool.size).to.equal(0);
    expect(() => pool.acquire({ id: 'y', address: '' })).to.throw(TypeError, /y has no address/);
    pool.close();
    expect(() => pool.acquire({ id: 'z', address: '127.0.0.1:1' })).to.throw(/closed/);
  });

  it('counts leases: a release is idempotent and only the last one closes the channel', () => {
    const pool = new ChannelPool();
    const i = { id: 'i', address: '127.0.0.1:1' };
    const one = pool.acquire(i);
    const two = pool.acquire(i);
    expect(one.client).to.equal(two.client);
    one.release();
    one.release();
    expect(pool.size).to.equal(1);
    expect(stateOf(two.client)).to.not.equal(connectivityState.SHUTDOWN);
    two.release();
    expect(pool.size).to.equal(0);
    expect(stateOf(two.client)).to.equal(connectivityState.SHUTDOWN);
  });
});
