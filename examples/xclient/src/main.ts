// xclient: rpcx's XClient, by hand with kitts' pieces. A fixed list of instances in
// `protocol@address` form (gRPC over TCP, HTTP over TCP, HTTP over a unix socket) feeds one
// Endpointer; the same instances are then called at random, in turn (round robin), and
// all at once (broadcast), the last with a deadline that cancels the slow instance.
//
// Run (in examples/xclient):  npm start
//                             npm start -- --registry etcd://127.0.0.1:2379/services
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';
import { background, codeOf, type Middleware, withTimeout } from '@kitts/endpoint';
import { balanced, broadcast, random, roundRobin } from '@kitts/lb';
import { Endpointer, type Factory, FixedInstancer, type Instancer, type Registrar } from '@kitts/sd';
import type { Args, Reply } from './proto.js';
import { openRegistry, type Registry } from './registry.js';
import { type ArithInstance, grpcInstance, httpInstance, type ServerEvent, unixInstance } from './servers.js';
import { PROTOCOLS, parseXAddress, xfactory } from './xfactory.js';

export interface XClientOptions {
  /** Register the instances in this registry and discover them, instead of the fixed list. */
  registry?: string;
  out?: (line: string) => void;
}

/** What one instance did with one broadcast call, as the client saw it. */
export interface InstanceOutcome {
  readonly instance: string;
  /** The product, or the error code (CANCELED, DEADLINE_EXCEEDED...). */
  readonly outcome: number | string;
  readonly ms: number;
}

export interface XClientResult {
  readonly instances: readonly string[];
  readonly random: readonly string[];
  readonly roundRobin: readonly string[];
  /** Broadcast while every instance is fast: every answer, in the list's order. */
  readonly broadcast: readonly Reply[];
  readonly slowBroadcast: {
    /** How the broadcast call ended. */
    readonly error: string | undefined;
    readonly ms: number;
    readonly perInstance: readonly InstanceOutcome[];
    /** What the slow server saw: its context ended, and it stopped. */
    readonly server: ServerEvent | undefined;
  };
}

const DEADLINE_MS = 300;
const SLOW_MS = 2000;

export async function main(options: XClientOptions = {}): Promise<XClientResult> {
  const out = options.out ?? console.log;
  const events: ServerEvent[] = [];
  const servers: ArithInstance[] = [];
  const registrars: Registrar[] = [];
  let registry: Registry | undefined;
  let endpointer: Endpointer<Args, Reply> | undefined;
  let instancer: Instancer | undefined;
  const transports = xfactory();
  try {
    servers.push(await grpcInstance(events));
    servers.push(await httpInstance(events));
    servers.push(await unixInstance(join(tmpdir(), `kitts-xclient-${process.pid}.sock`), events));
    const list = servers.map((s) => s.name);

    if (options.registry === undefined) {
      instancer = new FixedInstancer(list);
      out('xclient: three instances of Arith, one per protocol, in a fixed list');
    } else {
      registry = await openRegistry(options.registry);
      for (const name of list) {
        const r = registry.registrar('arith', { id: name, address: name });
        await r.register();
        registrars.push(r);
      }
      instancer = registry.instancer('arith');
      out(`xclient: three instances of Arith, one per protocol, registered in ${registry.url}`);
    }
    for (const name of list) out(`  ${name.padEnd(40)} ${PROTOCOLS[parseXAddress(name).protocol]}`);

    // Every call an instance makes, as the client sees it: the broadcast report uses it.
    const seen: InstanceOutcome[] = [];
    endpointer = new Endpointer(instancer, observed(transports.factory, seen));
    await untilInstances(endpointer, list.length, 5000);

    const calls = async (
      title: string,
      mul: (ctx: ReturnType<typeof background>, a: Args) => Promise<Reply>,
    ) => {
      out(`\n${title}`);
      const by: string[] = [];
      for (let i = 1; i <= 6; i++) {
        const reply = await mul(background(), { a: i, b: 7 });
        by.push(reply.served_by);
        out(`  Mul(${i}, 7) = ${String(reply.c).padEnd(3)} <- ${reply.served_by}`);
      }
      return by;
    };
    const randomBy = await calls('random: any instance, each time', balanced(random(endpointer)));
    const roundRobinBy = await calls('round robin: each instance in turn', balanced(roundRobin(endpointer)));

    const everyone = broadcast(endpointer, { mode: 'all' });
    out(`\nbroadcast (mode 'all'): Mul(6, 7) on every instance at once, ${DEADLINE_MS} ms deadline`);
    const [ctx1, cancel1] = withTimeout(background(), DEADLINE_MS);
    const all = await everyone(ctx1, { a: 6, b: 7 }).finally(cancel1);
    out(`  answers: ${all.map((r) => `${r.c} from ${r.served_by}`).join(', ')}`);

    const slow = servers[2]!;
    slow.delay = SLOW_MS;
    out(`\n${slow.name} now takes ${SLOW_MS / 1000} s per call; the same broadcast, the same deadline:`);
    seen.length = 0;
    const t0 = performance.now();
    const [ctx2, cancel2] = withTimeout(background(), DEADLINE_MS);
    let error: string | undefined;
    try {
      await everyone(ctx2, { a: 6, b: 7 });
    } catch (err) {
      error = codeOf(err) ?? (err as Error).name;
    } finally {
      cancel2();
    }
    const ms = Math.round(performance.now() - t0);
    // The slow server learns of the end asynchronously (a closed connection, an expired deadline).
    const server = await untilEvent(events, slow.name, 1000);
    await untilSeen(seen, list.length, 1000);
    for (const o of [...seen].sort((a, b) => list.indexOf(a.instance) - list.indexOf(b.instance))) {
      const what = typeof o.outcome === 'number' ? `answered ${o.outcome}` : `ended: ${o.outcome}`;
      out(`  client  ${o.instance.padEnd(40)} ${what} after ${o.ms} ms`);
    }
    out(`  the broadcast failed after ${ms} ms: ${error ?? 'no error'}; the calls still open were cancelled`);
    if (server !== undefined) {
      out(
        `  server  ${server.instance.padEnd(40)} stopped ${server.call} after ${server.afterMs} ms ` +
          `(${server.message}), instead of working ${SLOW_MS} ms for nobody`,
      );
    }
    return {
      instances: list,
      random: randomBy,
      roundRobin: roundRobinBy,
      broadcast: all,
      slowBroadcast: { error, ms, perInstance: [...seen], server },
    };
  } finally {
    await endpointer?.close();
    await instancer?.close();
    await transports.close();
    for (const r of registrars) await r.deregister();
    await registry?.close();
    await Promise.all(servers.map((s) => s.close()));
  }
}

/** Wraps each instance's endpoint to record how its calls end. */
function observed(factory: Factory<Args, Reply>, seen: InstanceOutcome[]): Factory<Args, Reply> {
  return (instance) => {
    const made = factory(instance);
    const result = typeof made === 'function' ? { endpoint: made } : made;
    const record: Middleware<Args, Reply> = (next) => async (ctx, req) => {
      const t0 = performance.now();
      const ms = () => Math.round(performance.now() - t0);
      try {
        const reply = await next(ctx, req);
        seen.push({ instance: instance.address, outcome: reply.c, ms: ms() });
        return reply;
      } catch (err) {
        seen.push({ instance: instance.address, outcome: codeOf(err) ?? (err as Error).message, ms: ms() });
        throw err;
      }
    };
    return { ...result, endpoint: record(result.endpoint) };
  };
}

function untilInstances(endpointer: Endpointer<Args, Reply>, n: number, ms: number): Promise<void> {
  return until(() => endpointer.current().entries.length >= n, ms, `${n} instances`);
}

async function untilEvent(
  events: ServerEvent[],
  instance: string,
  ms: number,
): Promise<ServerEvent | undefined> {
  await until(() => events.some((e) => e.instance === instance), ms, 'the slow server').catch(() => {});
  return events.find((e) => e.instance === instance);
}

async function untilSeen(seen: InstanceOutcome[], n: number, ms: number): Promise<void> {
  await until(() => seen.length >= n, ms, 'every outcome').catch(() => {});
}

async function until(check: () => boolean, ms: number, what: string): Promise<void> {
  const end = Date.now() + ms;
  for (;;) {
    try {
      if (check()) return;
    } catch {
      // an Endpointer whose registry failed throws from current(): keep waiting
    }
    if (Date.now() > end) throw new Error(`xclient: no ${what} within ${ms} ms`);
    await new Promise((r) => setTimeout(r, 5));
  }
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const { values } = parseArgs({
    args: process.argv.slice(2).filter((a) => a !== '--'),
    options: { registry: { type: 'string' } },
  });
  try {
    await main(values.registry === undefined ? {} : { registry: values.registry });
  } catch (err) {
    console.error(`xclient: ${(err as Error).message}`);
    process.exitCode = 1;
  }
}
