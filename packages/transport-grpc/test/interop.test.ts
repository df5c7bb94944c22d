// Interoperability with an independent implementation: Debian's python3-grpcio (the C
// core) with Python's protobuf, as a client of a kitts server and as a server for a
// kitts client. Skipped, saying why, only where /usr/bin/python3 cannot import grpc.
import { type ChildProcess, execFile, spawn, spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { status } from '@grpc/grpc-js';
import {
  background,
  type Context,
  DeadlineExceededError,
  type Endpoint,
  key,
  withTimeout,
  withValue,
} from '@kitts/endpoint';
import { assertNoLeaks, baseline } from '@kitts/testkit';
import { expect } from 'chai';
import { z } from 'zod';
import {
  checkHealth,
  createUnaryClient,
  createUnaryHandler,
  GrpcError,
  type HealthService,
  healthService,
  schemaDecoder,
} from '../src/index.js';
import { insecure, type Running, startServer } from './fixture.js';
import { EchoClient, type EchoRequest, type EchoResponse, EchoService } from './generated/echo.js';

const PYTHON = '/usr/bin/python3';
const peer = fileURLToPath(new URL('./interop/echo_peer.py', import.meta.url));

function pythonGrpc(): string | undefined {
  const r = spawnSync(PYTHON, ['-c', 'import grpc'], { encoding: 'utf8' });
  if (r.error) return `${PYTHON} is missing (${r.error.message})`;
  if (r.status !== 0) return `${PYTHON} cannot import grpc: ${r.stderr.trim().split('\n').pop()}`;
  return undefined;
}

describe('interop with Python grpcio (C core)', function () {
  // The Python interpreter and grpc import take a moment on a busy 2-core machine.
  this.timeout(30_000);
  let base: Map<string, number>;

  before(async function () {
    const missing = pythonGrpc();
    if (missing !== undefined) {
      console.warn(`  skipping the Python interop tests: ${missing} (apt-get install python3-grpcio)`);
      this.skip();
    }
    base = await baseline();
  });

  after(async () => {
    if (base !== undefined) await assertNoLeaks(base, { settleMs: 100 });
  });

  describe('a Python client calling a kitts server', () => {
    let running: Running;
    let health: HealthService;
    const correlation = key<string>('correlation');

    before(async () => {
      health = healthService({ '': 'SERVING', svc: 'SERVING' });
      const Request = z.object({
        message: z.string().min(1),
        number: z.number().int().min(0),
        tags: z.array(z.string()),
      });
      const endpoint: Endpoint<EchoRequest, EchoResponse> = async (ctx, r) => {
        if (r.message === 'not-found') throw Object.assign(new Error('no such thing'), { statusCode: 404 });
        if (r.message === 'crash') throw new Error('secret internals');
        if (r.message === 'flip') health.setStatus('svc', 'NOT_SERVING');
        if (r.message === 'slow') {
          await new Promise((resolve) => ctx.signal.addEventListener('abort', resolve, { once: true }));
        }
        return {
          message: `${r.message}/${ctx.value(correlation)}`,
          number: r.number + 1,
          tags: [...r.tags].reverse(),
        };
      };
      running = await startServer((s) => {
        s.addService(EchoService, {
          echo: createUnaryHandler(endpoint, schemaDecoder(Request), (_ctx: Context, m: EchoResponse) => m, {
            before: (ctx, md) => withValue(ctx, correlation, String(md.get('correlation-id')[0] ?? 'none')),
            after: (ctx, { header, trailer, error }) => {
              if (error !== undefined) return;
              header.set('kitts-header', `h-${ctx.value(correlation)}`);
              trailer.set('kitts-trailer', `t-${ctx.value(correlation)}`);
            },
          }),
          reverse: () => {},
          count: () => {},
        });
        s.addService(health.service, health.implementation);
      });
    });

    after(async () => {
      health.shutdown();
      await running.close();
    });

    it('gets answers, metadata, mapped statuses, deadlines and health from kitts', async () => {
      const stdout = await new Promise<string>((resolve, reject) =>
        execFile(PYTHON, [peer, 'client', running.address], { timeout: 25_000 }, (err, out, errOut) =>
          err ? reject(new Error(`python client failed: ${errOut || err.message}`)) : resolve(out),
        ),
      );
      const have = JSON.parse(stdout);
      const { header, trailer, ...answer } = have.echo;
      expect(answer).to.deep.equal({ message: 'hello/py-1', number: 42, tags: ['b', 'a'] });
      expect(header['kitts-header']).to.equal('h-py-1');
      expect(trailer['kitts-trailer']).to.equal('t-py-1');
      expect(have.notFound).to.deep.include({ code: 'NOT_FOUND', details: 'no such thing' });
      expect(have.internal).to.deep.include({ code: 'UNKNOWN', details: 'internal error' });
      expect(have.invalid.code).to.equal('INVALID_ARGUMENT');
      expect(have.invalid.details).to.include('message:').and.include('number:');
      expect(have.deadline.code).to.equal('DEADLINE_EXCEEDED');
      expect(have.check).to.equal('SERVING');
      expect(have.checkUnknown).to.equal('NOT_FOUND');
      expect(have.watch).to.deep.equal(['SERVING', 'NOT_SERVING']);
    });
  });

  describe('a kitts client calling a Python server', () => {
    let child: ChildProcess;
    let address: string;
    let client: EchoClient;

    before(async () => {
      child = spawn(PYTHON, [peer, 'server'], { stdio: ['pipe', 'pipe', 'inherit'] });
      const port = await new Promise<string>((resolve, reject) => {
        child.once('error', reject);
        child.once('exit', (code) => reject(new Error(`python server exited with ${code}`)));
        child.stdout!.once('data', (d: Buffer) => resolve(d.toString().trim()));
      });
      address = `127.0.0.1:${port}`;
      client = new EchoClient(address, insecure());
    });

    after(async () => {
      client?.close();
      if (child.exitCode === null) {
        const exited = new Promise((resolve) => child.once('exit', resolve));
        child.stdin!.end(); // the server stops when its stdin closes
        await exited;
      }
    });

    const toMessage = (_ctx: Context, text: string): EchoRequest => ({
      message: text,
      number: 1,
      tags: ['x', 'y'],
    });

    it('round-trips a call with metadata both ways', async () => {
      const fromHeader = key<string>('h');
      const e = createUnaryClient(
        client,
        'echo',
        toMessage,
        (ctx, m: EchoResponse) => ({ ...m, h: ctx.value(fromHeader) }),
        {
          before: (_ctx, md) => {
            md.set('correlation-id', 'k-1');
          },
          after: (ctx, { header, trailer }) =>
            withValue(ctx, fromHeader, `${header.get('py-header')[0]} ${trailer.get('py-trailer')[0]}`),
        },
      );
      expect(await e(background(), 'hi')).to.deep.equal({
        message: 'HI',
        number: 2,
        tags: ['y', 'x'],
        h: 'h-k-1 t-k-1',
      });
    });

    it('turns Python aborts into GrpcErrors with code, details, trailers and retryability', async () => {
      const e = createUnaryClient(client, 'echo', toMessage, (_ctx, m: EchoResponse) => m);
      const notFound = (await e(background(), 'not-found').catch((x: unknown) => x)) as GrpcError;
      expect(notFound).to.be.instanceOf(GrpcError);
      expect([notFound.code, notFound.details, notFound.retryable]).to.deep.equal([
        status.NOT_FOUND,
        'no such thing',
        false,
      ]);
      expect(notFound.metadata.get('reason')).to.deep.equal(['no-such-thing']);
      const busy = (await e(background(), 'unavailable').catch((x: unknown) => x)) as GrpcError;
      expect([busy.code, busy.details, busy.retryable]).to.deep.equal([
        status.UNAVAILABLE,
        'python is busy',
        true,
      ]);
    });

    it('sends the context deadline; Python sees the call end when it passes', async () => {
      const e = createUnaryClient(client, 'echo', toMessage, (_ctx, m: EchoResponse) => m);
      const [ctx, cancel] = withTimeout(background(), 150);
      const err = await e(ctx, 'slow').catch((x: unknown) => x);
      cancel();
      expect(err).to.be.instanceOf(DeadlineExceededError);
      const report = createUnaryClient(
        client,
        EchoService.reverse,
        toMessage,
        (_c, m: EchoResponse) => m.message,
      );
      let seen: { slowCancelled: boolean | null } = { slowCancelled: null };
      for (let i = 0; i < 200 && seen.slowCancelled === null; i++) {
        seen = JSON.parse(await report(background(), 'report'));
        if (seen.slowCancelled === null) await new Promise((r) => setTimeout(r, 10));
      }
      expect(seen.slowCancelled).to.equal(true);
    });

    it('checkHealth asks the Python server', async () => {
      expect(await checkHealth(address)).to.equal('SERVING');
      expect(await checkHealth(address, 'python')).to.equal('SERVING');
      expect(await checkHealth(address, 'other')).to.equal('SERVICE_UNKNOWN');
    });
  });
});
