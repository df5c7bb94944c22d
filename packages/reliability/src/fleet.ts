/**
 * Instance processes for the soak: each a separate Node process running instance.ts,
 * spoken to over IPC, stopped by PID. Nothing may outlive the runner: stop() and
 * stopAll() on the normal path, a process 'exit' hook that SIGKILLs what is left, and
 * each instance exits by itself when its IPC channel closes (the runner died).
 *
 * A process is spawned as a warm spare (modules loaded, not listening) and started on
 * demand, so "start an instance" costs what kitts costs, not Node's boot.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { REPO_ROOT } from './echo.js';
import type { FromInstance, InstanceConfig, InstanceStats, ToInstance } from './protocol.js';

const INSTANCE = fileURLToPath(new URL('./instance.ts', import.meta.url));
const live = new Set<number>();
let hooked = false;

function hookExit(): void {
  if (hooked) return;
  hooked = true;
  process.on('exit', () => {
    for (const pid of live) {
      try {
        process.kill(pid, 'SIGKILL');
      } catch {
        // already gone
      }
    }
  });
}

export interface Instance {
  readonly id: string;
  readonly pid: number;
  readonly transport: 'http' | 'grpc';
  /** Date.now() of each step: spawned, modules loaded, told to start, listening, registered. */
  readonly spawnedAt: number;
  loadedAt: number | undefined;
  startedAt: number | undefined;
  listeningAt: number | undefined;
  registeredAt: number | undefined;
  port: number | undefined;
  /** `127.0.0.1:PORT` once listening. */
  readonly address: string;
  /** Resolves with the exit code or signal. */
  readonly exited: Promise<string>;
  hasExited(): boolean;
  /**
   * Starts serving; resolves once listening, and registered too when the instance has
   * etcd and `waitRegistered` is not false.
   */
  start(options?: { waitRegistered?: boolean; timeout?: number }): Promise<void>;
  /** Sends `signal` (SIGKILL by default) by PID and waits for the exit. */
  kill(signal?: NodeJS.Signals): Promise<void>;
  /** SIGTERM (deregister, drain), then SIGKILL after `grace` ms. */
  stop(grace?: number): Promise<void>;
  configure(c: { failRate?: number; delayMs?: number }): void;
  stats(options?: { gc?: boolean; reset?: boolean }): Promise<InstanceStats>;
}

let nextRef = 1;

/** Spawns an instance process and resolves once it has loaded its modules (a warm spare). */
export async function spawnInstance(config: InstanceConfig, { timeout = 60_000 } = {}): Promise<Instance> {
  hookExit();
  const child: ChildProcess = spawn(
    process.execPath,
    [
      '--expose-gc',
      '--import',
      'tsx',
      '--conditions=source',
      INSTANCE,
      JSON.stringify({ ...config, standby: true }),
    ],
    { cwd: REPO_ROOT, stdio: ['ignore', 'ignore', 'pipe', 'ipc'], env: { ...process.env } },
  );
  if (child.pid === undefined) throw new Error(`reliability: could not start instance ${config.id}`);
  const pid = child.pid;
  live.add(pid);
  let tail = '';
  child.stderr!.on('data', (c: Buffer) => {
    tail = (tail + c.toString('utf8')).slice(-4096);
  });
  let done = false;
  const exited = new Promise<string>((resolve) => {
    child.once('exit', (code, signal) => {
      done = true;
      live.delete(pid);
      resolve(signal ?? String(code));
    });
  });
  const waiting = new Map<number, (s: InstanceStats) => void>();
  const events = new Map<FromInstance['type'], () => void>();
  let failure: Error | undefined;

  /** Resolves at the first message of `type`, rejects on failure, exit or timeout. */
  const until = (type: FromInstance['type'], ms: number) =>
    new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => {
        events.delete(type);
        reject(new Error(`instance ${config.id}: no '${type}' after ${ms} ms:\n${tail}`));
      }, ms);
      events.set(type, () => {
        clearTimeout(timer);
        resolve();
      });
      void exited.then((how) => {
        clearTimeout(timer);
        reject(failure ?? new Error(`instance ${config.id} exited (${how}) before '${type}':\n${tail}`));
      });
    });

  const instance: Instance = {
    id: config.id,
    pid,
    transport: config.transport,
    spawnedAt: Date.now(),
    loadedAt: undefined,
    startedAt: undefined,
    listeningAt: undefined,
    registeredAt: undefined,
    port: undefined,
    get address() {
      return `127.0.0.1:${this.port ?? 0}`;
    },
    exited,
    hasExited: () => done,
    async start({ waitRegistered = config.etcd !== undefined, timeout: ms = 60_000 } = {}) {
      const ready = until(waitRegistered ? 'registered' : 'listening', ms);
      instance.startedAt = Date.now();
      child.send({ type: 'start' } satisfies ToInstance);
      await ready;
    },
    async kill(signal: NodeJS.Signals = 'SIGKILL') {
      if (done) return;
      try {
        process.kill(pid, signal);
      } catch {
        // already gone
      }
      await exited;
    },
    async stop(grace = 3000) {
      if (done) return;
      const timer = setTimeout(() => void instance.kill('SIGKILL'), grace);
      await instance.kill('SIGTERM');
      clearTimeout(timer);
    },
    configure(c) {
      if (!done) child.send({ type: 'configure', ...c } satisfies ToInstance);
    },
    stats({ gc = false, reset = false } = {}) {
      if (done) return Promise.reject(new Error(`instance ${config.id} has exited`));
      const ref = nextRef++;
      return new Promise<InstanceStats>((resolve, reject) => {
        waiting.set(ref, resolve);
        child.send({ type: 'stats', ref, gc, reset } satisfies ToInstance);
        void exited.then(() => reject(new Error(`instance ${config.id} exited before answering`)));
      });
    },
  };

  child.on('message', (m: FromInstance) => {
    if (m.type === 'loaded') instance.loadedAt = m.at;
    else if (m.type === 'listening') {
      instance.port = m.port;
      instance.listeningAt = m.at;
    } else if (m.type === 'registered') instance.registeredAt = m.at;
    else if (m.type === 'stats') {
      waiting.get(m.ref)?.(m.stats);
      waiting.delete(m.ref);
      return;
    } else if (m.type === 'failed') {
      failure = new Error(`instance ${config.id} failed: ${m.message}`);
      return;
    }
    const notify = events.get(m.type);
    events.delete(m.type);
    notify?.();
  });

  try {
    await until('loaded', timeout);
  } catch (err) {
    await instance.kill();
    throw err;
  }
  return instance;
}

/** The instances of one service; `stopAll()` ends every process it started. */
export class Fleet {
  private readonly all: Instance[] = [];
  private seq = 0;

  constructor(private readonly base: Omit<InstanceConfig, 'id'>) {}

  /** Spawns `n` warm spares at once (not serving yet). */
  async spare(n = 1, overrides: Partial<InstanceConfig> = {}): Promise<Instance[]> {
    const ids = Array.from({ length: n }, () => `${this.base.transport}-${++this.seq}`);
    const spawned = await Promise.allSettled(
      ids.map((id, i) => spawnInstance({ ...this.base, seed: this.seq * 100 + i, ...overrides, id })),
    );
    for (const s of spawned) if (s.status === 'fulfilled') this.all.push(s.value);
    const failed = spawned.find((s) => s.status === 'rejected');
    if (failed) throw (failed as PromiseRejectedResult).reason;
    return spawned.map((s) => (s as PromiseFulfilledResult<Instance>).value);
  }

  /** Spawns and starts `n` instances; resolves once all serve (and are registered, with etcd). */
  async start(n = 1, overrides: Partial<InstanceConfig> = {}): Promise<Instance[]> {
    const spares = await this.spare(n, overrides);
    await Promise.all(spares.map((s) => s.start()));
    return spares;
  }

  /** Instances that were started and whose process is running. */
  get serving(): Instance[] {
    return this.all.filter((i) => !i.hasExited() && i.startedAt !== undefined);
  }

  /** Every instance spawned, dead ones included. */
  get spawned(): readonly Instance[] {
    return this.all;
  }

  async stopAll(): Promise<void> {
    await Promise.all(this.all.map((i) => i.stop()));
  }
}
