import * as grpc from '@grpc/grpc-js';
import { status } from '@grpc/grpc-js';
import * as protoLoader from '@grpc/proto-loader';
import { assertNoLeaks, baseline, freePort, waitFor } from '@kitts/testkit';
import { expect } from 'chai';
import fc from 'fast-check';
import {
  decodeListResponse,
  decodeRequest,
  decodeResponse,
  encodeListResponse,
  encodeRequest,
  encodeResponse,
  type ServingStatus,
} from '../src/health-codec.js';
import { checkHealth, GrpcError, type HealthService, healthService } from '../src/index.js';
import { protoDir, type Running, startServer } from './fixture.js';

// An independent client: protobufjs through proto-loader, from the spec's .proto.
const HealthClient = (
  grpc.loadPackageDefinition(
    protoLoader.loadSync(`${protoDir}health.proto`, { enums: String, defaults: true }),
  ) as unknown as { grpc: { health: { v1: { Health: grpc.ServiceClientConstructor } } } }
).grpc.health.v1.Health;

type Loaded = grpc.Client & {
  Check(req: object, cb: (err: grpc.ServiceError | null, res?: { status: string }) => void): void;
  List(req: object, cb: (err: grpc.ServiceError | null, res?: { statuses: object }) => void): void;
  Watch(req: object): grpc.ClientReadableStream<{ status: string }>;
};

const STATUSES: ServingStatus[] = ['UNKNOWN', 'SERVING', 'NOT_SERVING', 'SERVICE_UNKNOWN'];

describe('healthService and checkHealth', () => {
  let base: Map<string, number>;
  let running: Running | undefined;
  let health: HealthService;
  let client: Loaded | undefined;

  before(async () => {
    base = await baseline();
  });

  beforeEach(async () => {
    health = healthService();
    running = await startServer((s) => s.addService(health.service, health.implementation));
    client = new HealthClient(running.address, grpc.credentials.createInsecure()) as unknown as Loaded;
  });

  afterEach(async () => {
    client?.close();
    await running?.close();
  });

  after(async () => {
    await assertNoLeaks(base);
  });

  const check = (service: string) =>
    new Promise<{ code: number; status?: string }>((resolve) =>
      client!.Check({ service }, (err, res) =>
        resolve(err ? { code: err.code } : { code: 0, status: res?.status }),
      ),
    );

  it('answers Check: the server SERVING by default, set services, NOT_FOUND for unknown ones', async () => {
    health.setStatus('kitts.Users', 'NOT_SERVING');
    expect(await check('')).to.deep.equal({ code: 0, status: 'SERVING' });
    expect(await check('kitts.Users')).to.deep.equal({ code: 0, status: 'NOT_SERVING' });
    expect(await check('nope')).to.deep.equal({ code: status.NOT_FOUND });
    health.clearStatus('kitts.Users');
    expect(await check('kitts.Users')).to.deep.equal({ code: status.NOT_FOUND });
  });

  it('streams Watch transitions: the current status first, then each change once', async () => {
    const seen: string[] = [];
    const stream = client!.Watch({ service: 'svc' });
    stream.on('data', (m: { status: string }) => seen.push(m.status));
    stream.on('error', () => {});
    await waitFor(() => seen.length === 1);
    health.setStatus('svc', 'SERVING');
    health.setStatus('svc', 'SERVING');
    await waitFor(() => seen.length === 2);
    health.setStatus('svc', 'NOT_SERVING');
    health.clearStatus('svc');
    health.setStatus('other', 'NOT_SERVING');
    await waitFor(() => seen.length === 4);
    expect(seen).to.deep.equal(['SERVICE_UNKNOWN', 'SERVING', 'NOT_SERVING', 'SERVICE_UNKNOWN']);
    stream.cancel();
  });

  it('on shutdown tells watchers NOT_SERVING, ends their streams and ignores later updates', async () => {
    const seen: string[] = [];
    const stream = client!.Watch({ service: '' });
    stream.on('data', (m: { status: string }) => seen.push(m.status));
    const ended = new Promise<void>((resolve) => stream.on('status', () => resolve()));
    await waitFor(() => seen.length === 1);
    health.shutdown();
    await ended;
    health.setStatus('', 'SERVING');
    expect(seen).to.deep.equal(['SERVING', 'NOT_SERVING']);
    expect(await check('')).to.deep.equal({ code: 0, status: 'NOT_SERVING' });
    // Nothing holds the server open any more: a graceful shutdown completes.
    await new Promise<void>((resolve, reject) =>
      running!.server.tryShutdown((e) => (e ? reject(e) : resolve())),
    );
  });

  it('refuses to watch a service name longer than 1024 characters', async () => {
    const stream = client!.Watch({ service: 'x'.repeat(2000) });
    const code = await new Promise<number>((resolve) =>
      stream.on('error', (e: grpc.ServiceError) => resolve(e.code)),
    );
    expect(code).to.equal(status.INVALID_ARGUMENT);
  });

  it('lists every known service', async () => {
    health.setStatus('a', 'NOT_SERVING');
    const have = await new Promise((resolve) => client!.List({}, (_e, r) => resolve(r?.statuses)));
    expect(have).to.deep.equal({ '': { status: 'SERVING' }, a: { status: 'NOT_SERVING' } });
  });

  it('checkHealth reads SERVING, NOT_SERVING and SERVICE_UNKNOWN', async () => {
    health.setStatus('down', 'NOT_SERVING');
    const address = running!.address;
    expect(await checkHealth(address)).to.equal('SERVING');
    expect(await checkHealth(address, 'down')).to.equal('NOT_SERVING');
    expect(await checkHealth(address, 'missing')).to.equal('SERVICE_UNKNOWN');
  });

  it('checkHealth rejects with UNAVAILABLE when nothing listens', async () => {
    const err = await checkHealth(`127.0.0.1:${await freePort()}`).catch((e: unknown) => e);
    expect(err).to.be.instanceOf(GrpcError).with.property('code', status.UNAVAILABLE);
  });

  it('refuses statuses that do not exist', () => {
    expect(() => health.setStatus('x', 'SERVICE_UNKNOWN' as never)).to.throw(
      TypeError,
      /not a serving status/,
    );
    expect(() => health.setStatus('x', 'serving' as never)).to.throw(TypeError);
  });
});

describe('the grpc.health.v1 codec', () => {
  it('round-trips any service name and status', () => {
    fc.assert(
      fc.property(fc.string({ unit: 'grapheme' }), fc.constantFrom(...STATUSES), (service, st) => {
        expect(decodeRequest(encodeRequest({ service }))).to.deep.equal({ service });
        expect(decodeResponse(encodeResponse({ status: st }))).to.deep.equal({ status: st });
      }),
    );
  });

  it('round-trips List answers', () => {
    fc.assert(
      fc.property(fc.dictionary(fc.string(), fc.constantFrom(...STATUSES)), (d) => {
        const statuses = Object.fromEntries(Object.entries(d).map(([k, v]) => [k, { status: v }]));
        expect(decodeListResponse(encodeListResponse({ statuses }))).to.deep.equal({ statuses });
      }),
    );
  });

  it('skips unknown fields of every wire type, as a newer peer may send them', () => {
    const unknown = Buffer.from([
      0x10,
      0x96,
      0x01, // field 2 varint 150
      0x19,
      1,
      2,
      3,
      4,
      5,
      6,
      7,
      8, // field 3 fixed64
      0x22,
      0x02,
      0x61,
      0x62, // field 4 bytes "ab"
      0x2d,
      1,
      2,
      3,
      4, // field 5 fixed32
    ]);
    const req = Buffer.concat([unknown, encodeRequest({ service: 'svc' })]);
    expect(decodeRequest(req)).to.deep.equal({ service: 'svc' });
    expect(decodeResponse(Buffer.concat([unknown, Buffer.from([0x08, 0x02])]))).to.deep.equal({
      status: 'NOT_SERVING',
    });
    expect(decodeResponse(Buffer.from([0x08, 0x09]))).to.deep.equal({ status: 'UNKNOWN' });
  });

  it('throws a RangeError, never anything worse, on any truncated or random input', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 64 }), (bytes) => {
        for (const decode of [decodeRequest, decodeResponse, decodeListResponse]) {
          try {
            decode(bytes);
          } catch (e) {
            expect(e).to.satisfy((x: unknown) => x instanceof RangeError || x instanceof TypeError);
          }
        }
      }),
    );
  });
});
