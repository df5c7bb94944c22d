/**
 * Server processes started by tests: spawned on 127.0.0.1, stopped by PID, and never
 * allowed to outlive the test run. Three layers make sure of the last part:
 * - `stop()` in the test's after() hook (the normal path);
 * - a process 'exit' hook that SIGKILLs every server still running (a failed or
 *   interrupted run);
 * - a watchdog shell per server that waits on a pipe from this process and kills the
 *   server when the pipe closes, which also covers this process dying by SIGKILL.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { accessSync, constants } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { delimiter, join } from 'node:path';

const live = new Set<number>();
let hooked = false;

function killAllSync(): void {
  for (const pid of live) {
    try {
      process.kill(pid, 'SIGKILL');
    } catch {
      // already gone
    }
  }
  live.clear();
}

function hookExit(): void {
  if (hooked) return;
  hooked = true;
  process.on('exit', killAllSync);
  // Only where nobody else handles these signals: adding a listener would otherwise
  // change what the signal does to the process.
  for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) {
    if (process.listenerCount(signal) > 0) continue;
    process.once(signal, () => {
      killAllSync();
      process.kill(process.pid, signal);
    });
  }
}

/** Finds an executable on PATH (and in the sbin directories Debian puts daemons in). */
export function findBinary(name: string, debianPackage: string): string {
  const dirs = [...(process.env.PATH ?? '').split(delimiter), '/usr/sbin', '/sbin', '/usr/local/sbin'];
  for (const dir of dirs) {
    if (dir === '') continue;
    const file = join(dir, name);
    try {
      accessSync(file, constants.X_OK);
      return file;
    } catch {
      // not here
    }
  }
  throw new Error(
    `@kitts/testkit: '${name}' was not found on PATH. Install it with ` +
      `\`apt-get install -y --no-install-recommends ${debianPackage}\` (npm test does this on a fresh machine).`,
  );
}

/** Throws a clear error when a file a server needs is missing. */
export function requireFile(file: string, debianPackage: string): string {
  try {
    accessSync(file, constants.R_OK);
    return file;
  } catch {
    throw new Error(
      `@kitts/testkit: ${file} is missing. Install it with ` +
        `\`apt-get install -y --no-install-recommends ${debianPackage}\`.`,
    );
  }
}

/** A private temporary directory (mode 0700), removed by the returned function. */
export async function tempDir(prefix: string): Promise<{ path: string; remove: () => Promise<void> }> {
  const path = await mkdtemp(join(tmpdir(), `kitts-${prefix}-`));
  return { path, remove: () => rm(path, { recursive: true, force: true }) };
}

export interface ManagedProcess {
  readonly pid: number;
  /** The last few kilobytes the process wrote to stdout and stderr, for error messages. */
  output(): string;
  /** Resolves when the process has exited. */
  readonly exited: Promise<void>;
  hasExited(): boolean;
  /** Sends `signal` (SIGKILL by default) and waits for the exit. */
  kill(signal?: NodeJS.Signals): Promise<void>;
  pause(): void;
  resume(): void;
}

const TAIL = 8192;

/** Spawns a server process that the exit hooks and a watchdog will kill if the tests do not. */
export function launch(
  command: string,
  args: readonly string[],
  options: { cwd?: string } = {},
): ManagedProcess {
  hookExit();
  const child: ChildProcess = spawn(command, args, {
    cwd: options.cwd,
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { ...process.env, LC_ALL: 'C' },
  });
  if (child.pid === undefined) throw new Error(`@kitts/testkit: could not start ${command}`);
  const pid = child.pid;
  live.add(pid);
  let tail = '';
  const collect = (chunk: Buffer) => {
    tail = (tail + chunk.toString('utf8')).slice(-TAIL);
  };
  child.stdout!.on('data', collect);
  child.stderr!.on('data', collect);
  let done = false;
  const exited = new Promise<void>((resolve) => {
    child.once('exit', () => {
      done = true;
      live.delete(pid);
      watchdog.kill('SIGKILL');
      resolve();
    });
  });
  child.once('error', (err) => {
    tail += `\nspawn error: ${err.message}`;
  });
  // The watchdog's stdin is a pipe from us: `read` returns when this process is gone,
  // however it died, and the server goes with it.
  const watchdog = spawn(
    'sh',
    ['-c', 'read _ignored; kill -9 "$1" 2>/dev/null', 'kitts-watchdog', String(pid)],
    {
      stdio: ['pipe', 'ignore', 'ignore'],
    },
  );
  watchdog.on('error', () => {});
  // Neither the server nor its watchdog may keep the test process alive by themselves.
  for (const p of [child, watchdog]) {
    p.unref();
    for (const s of [p.stdin, p.stdout, p.stderr]) (s as unknown as { unref?: () => void } | null)?.unref?.();
  }
  return {
    pid,
    exited,
    output: () => tail,
    hasExited: () => done,
    async kill(signal: NodeJS.Signals = 'SIGKILL') {
      if (done) return;
      // Unreferenced, the child would let the event loop end while we wait for its exit.
      child.ref();
      try {
        // A stopped process acts on SIGTERM only once continued.
        process.kill(pid, 'SIGCONT');
        process.kill(pid, signal);
      } catch {
        // already gone
      }
      await exited;
    },
    pause() {
      if (!done) process.kill(pid, 'SIGSTOP');
    },
    resume() {
      if (!done) process.kill(pid, 'SIGCONT');
    },
  };
}

/**
 * Polls `probe` until it returns true; fails early, with the server's output, when the
 * process exits first.
 */
export async function waitReady(
  proc: ManagedProcess,
  what: string,
  probe: () => Promise<boolean>,
  timeout = 20_000,
): Promise<void> {
  const end = Date.now() + timeout;
  for (;;) {
    if (proc.hasExited()) {
      throw new Error(`@kitts/testkit: ${what} exited during start-up:\n${proc.output()}`);
    }
    if (await probe().catch(() => false)) return;
    if (Date.now() > end) {
      await proc.kill();
      throw new Error(`@kitts/testkit: ${what} was not ready after ${timeout} ms:\n${proc.output()}`);
    }
    await new Promise((r) => setTimeout(r, 25));
  }
}

/** True when the output says the port was taken between freePort() and the bind. */
export function lostPortRace(output: string): boolean {
  return /address already in use|Address in use|BindException/i.test(output);
}

/** Runs a command to completion (for etcdctl and friends); rejects with its output on failure. */
export function runCommand(command: string, args: readonly string[], timeout = 10_000): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, {
      stdio: ['ignore', 'pipe', 'pipe'],
      env: { ...process.env, LC_ALL: 'C' },
    });
    let out = '';
    let err = '';
    child.stdout.on('data', (c: Buffer) => {
      out += c.toString('utf8');
    });
    child.stderr.on('data', (c: Buffer) => {
      err += c.toString('utf8');
    });
    const timer = setTimeout(() => child.kill('SIGKILL'), timeout);
    child.once('error', (e) => {
      clearTimeout(timer);
      reject(e);
    });
    child.once('close', (code, signal) => {
      clearTimeout(timer);
      if (code === 0) resolve(out);
      else reject(new Error(`${command} ${args.join(' ')} failed (${code ?? signal}): ${err || out}`));
    });
  });
}
