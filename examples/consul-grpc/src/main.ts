// consul-grpc: an Add service over gRPC, three instances registered with a gRPC health
// check against kitts' health service (grpc.health.v1), and a client that discovers
// passing instances only. When one instance's health service says NOT_SERVING, its check
// turns critical and it leaves the client's rotation, although its process still runs;
// when it says SERVING again, it comes back.
//
// Run (in examples/consul-grpc):  npm start
//                                 npm start -- --registry consul://127.0.0.1:8500
import { pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';
import { type Served, serve, serviceClient } from '@kitts/client';
import { grpc } from '@kitts/client/grpc';
import { background } from '@kitts/endpoint';
import type { Endpointer } from '@kitts/sd';
import { addInstance } from './add-service.js';
import { ADD_SERVICE_NAME, type AddReply, AddService } from './proto.js';
import { openRegistry } from './registry.js';

export interface ConsulGrpcOptions {
  /** memory:// (default) or consul://host:port. */
  registry?: string;
  out?: (line: string) => void;
}

export interface Phase {
  /** Instance ids in the client's rotation during the phase. */
  readonly rotation: readonly string[];
  /** Which instance answered each call. */
  readonly answeredBy: readonly string[];
  /** Every sum came back right. */
  readonly sumsCorrect: boolean;
  /** ms from the health change until the client's rotation reflected it (0 for the first phase). */
  readonly tookMs: number;
}

export interface ConsulGrpcResult {
  readonly instances: readonly { id: string; address: string }[];
  readonly allServing: Phase;
  readonly add2NotServing: Phase & { readonly callsAdd2Answered: number };
  readonly add2ServingAgain: Phase;
}

const NAMES = ['add-1', 'add-2', 'add-3'];

export async function main(options: ConsulGrpcOptions = {}): Promise<ConsulGrpcResult> {
  const out = options.out ?? console.log;
  const registry = await openRegistry(options.registry);
  const adds = NAMES.map(addInstance);
  const served: Served[] = [];
  let client: ReturnType<typeof addClient> | undefined;
  try {
    for (const add of adds) {
      served.push(
        await serve({
          server: add.server,
          registrar: ({ address }) => registry.registrar('add', { id: add.name, address }, ADD_SERVICE_NAME),
          signals: false, // a demo that ends by itself; a real service keeps SIGTERM/SIGINT
          drainTimeout: 1000,
        }),
      );
    }
    out(`consul-grpc: 3 instances of "add" registered in ${registry.url}, each with a gRPC health check`);
    out(`  checks: grpc.health.v1.Health/Check("${ADD_SERVICE_NAME}"), run by ${registry.checker}`);
    for (let i = 0; i < adds.length; i++) out(`  ${NAMES[i]}  ${served[i]!.address}`);

    const c = (client = addClient(registry.url, registry.discoverOptions));
    out('client: discovers passing instances of "add" only; round robin');

    const phase = async (tookMs: number): Promise<Phase> => {
      const rotation = ids(c.endpointer);
      const answeredBy: string[] = [];
      let sumsCorrect = true;
      for (let i = 1; i <= 6; i++) {
        const [a, b] = [i, i * 10];
        const reply = (await c.Add(background(), { a, b })) as AddReply;
        sumsCorrect &&= reply.sum === a + b;
        answeredBy.push(reply.served_by);
        out(`  Add(${a}, ${b}) = ${String(reply.sum).padEnd(4)} <- ${reply.served_by}`);
      }
      return { rotation, answeredBy, sumsCorrect, tookMs };
    };

    // Checks start critical (as in Consul): instances join as their first check passes.
    const joined = await untilRotation(c.endpointer, NAMES, 10_000);
    out(`\nAll three passed their first check (${joined} ms): all three in rotation`);
    const allServing = await phase(0);

    const add2 = adds[1]!;
    const before = add2.calls;
    add2.health.setStatus(ADD_SERVICE_NAME, 'NOT_SERVING');
    out(`\nadd-2's health service now answers NOT_SERVING (its process still runs and would answer Add)`);
    const left = await untilRotation(c.endpointer, ['add-1', 'add-3'], 10_000);
    out(`  its check turned critical and add-2 left the rotation ${left} ms later`);
    const notServing = await phase(left);
    const callsAdd2Answered = add2.calls - before;
    out(`  add-2 answered ${callsAdd2Answered} of these 6 calls`);

    add2.health.setStatus(ADD_SERVICE_NAME, 'SERVING');
    out('\nadd-2 answers SERVING again');
    const back = await untilRotation(c.endpointer, NAMES, 10_000);
    out(`  its check passed and add-2 rejoined the rotation ${back} ms later`);
    const servingAgain = await phase(back);

    return {
      instances: served.map((s, i) => ({ id: NAMES[i]!, address: s.address })),
      allServing,
      add2NotServing: { ...notServing, callsAdd2Answered },
      add2ServingAgain: servingAgain,
    };
  } finally {
    await client?.close();
    // NOT_SERVING everywhere first, so nothing is sent to an instance that is going away.
    for (const add of adds) add.health.shutdown();
    await Promise.all(served.map((s) => s.close()));
    await registry.close();
  }
}

function addClient(url: string, discoverOptions: Parameters<typeof serviceClient>[0]['discoverOptions']) {
  return serviceClient({
    service: 'add',
    // consul:// and memory:// both filter on health: only passing instances are discovered.
    discovery: url,
    ...(discoverOptions === undefined ? {} : { discoverOptions }),
    transport: grpc({ client: AddService, methods: { Add: { idempotent: true } } }),
    timeout: 3000,
  });
}

const ids = (endpointer: Endpointer<any, any>): string[] =>
  endpointer.current().entries.map((e) => e.instance.id);

/** Resolves with the ms it took until the client's instances are exactly `want`. */
async function untilRotation(
  endpointer: Endpointer<any, any>,
  want: readonly string[],
  ms: number,
): Promise<number> {
  const t0 = Date.now();
  const key = [...want].sort().join(',');
  await endpointer.when(() => ids(endpointer).join(',') === key, ms, `consul-grpc: the rotation [${want}]`);
  return Date.now() - t0;
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const { values } = parseArgs({
    args: process.argv.slice(2).filter((a) => a !== '--'),
    options: { registry: { type: 'string' } },
  });
  try {
    await main(values.registry === undefined ? {} : { registry: values.registry });
  } catch (err) {
    console.error(`consul-grpc: ${(err as Error).message}`);
    process.exitCode = 1;
  }
}
