/**
 * A real single-node etcd (Debian's etcd-server) for integration tests: 127.0.0.1 only,
 * free ports, a private data dir removed on stop. A 100 ms election timeout keeps the
 * minimum lease TTL at 1 s (etcd rounds a TTL up to 1.5 x the election timeout).
 */
import { request } from 'node:http';
import { freePort } from '../ports.js';
import { findBinary, launch, lostPortRace, type ManagedProcess, runCommand, tempDir } from './process.js';

export interface EtcdOptions {
  /** Milliseconds; 100 by default (so a 1 s lease stays 1 s). */
  electionTimeout?: number;
  heartbeatInterval?: number;
  /** Extra command-line flags for etcd. */
  args?: readonly string[];
  /** Serve clients over TLS (`endpoint` is then https://); etcdctl uses the same files. */
  tls?: EtcdTlsOptions;
  /** Turn authentication on with a `root` user of this password; etcdctl then runs as root. */
  rootPassword?: string;
}

/** PEM files for an etcd serving clients over TLS. */
export interface EtcdTlsOptions {
  /** The server's certificate (it must name 127.0.0.1) and key. */
  certFile: string;
  keyFile: string;
  /** The CA that signed it (etcdctl trusts it), and that client certificates must come from. */
  caFile: string;
  /** Require a client certificate from `caFile` (etcd's --client-cert-auth); etcdctl then presents `clientCertFile`. */
  clientCertAuth?: boolean;
  clientCertFile?: string;
  clientKeyFile?: string;
}

export interface EtcdServer {
  /** `http://127.0.0.1:PORT` (`https://` with `tls`), what etcd3's `hosts` takes. */
  readonly endpoint: string;
  readonly port: number;
  /** PID of the current etcd process (changes on restart). */
  readonly pid: number;
  readonly dataDir: string;
  /** Runs etcdctl (API v3) against this server, as `etcdctl('put', k, v)` or `etcdctl(['put', k, v])`; resolves with its stdout. */
  etcdctl(...args: (string | readonly string[])[]): Promise<string>;
  /** The current store revision. */
  revision(): Promise<number>;
  /** Kills etcd (SIGKILL by default) but keeps its data, so `start()` can bring it back. */
  kill(signal?: NodeJS.Signals): Promise<void>;
  /** Starts etcd again on the same ports with the same data, and waits until it is healthy. */
  start(): Promise<void>;
  /** kill() then start(). */
  restart(): Promise<void>;
  /** SIGSTOP: the process keeps its sockets but answers nothing (a hung server). */
  pause(): void;
  /** SIGCONT after pause(). */
  resume(): void;
  /** Kills etcd and removes its data dir. Safe to call twice. */
  stop(): Promise<void>;
}

function healthy(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const req = request({ host: '127.0.0.1', port, path: '/health', timeout: 1000 }, (res) => {
      let body = '';
      res.on('data', (c: Buffer) => {
        body += c.toString('utf8');
      });
      res.on('end', () => resolve(res.statusCode === 200 && body.includes('"true"')));
    });
    req.on('error', () => resolve(false));
    req.on('timeout', () => {
      req.destroy();
      resolve(false);
    });
    req.end();
  });
}

export async function startEtcd(options: EtcdOptions = {}): Promise<EtcdServer> {
  const etcd = findBinary('etcd', 'etcd-server');
  const etcdctlBin = findBinary('etcdctl', 'etcd-client');
  const { electionTimeout = 100, heartbeatInterval = 10, args = [], tls } = options;
  const scheme = tls === undefined ? 'http' : 'https';
  const tlsArgs =
    tls === undefined
      ? []
      : [
          `--cert-file=${tls.certFile}`,
          `--key-file=${tls.keyFile}`,
          // etcd asks every client for a certificate once it has a trusted CA file.
          ...(tls.clientCertAuth === true ? ['--client-cert-auth', `--trusted-ca-file=${tls.caFile}`] : []),
        ];
  const dir = await tempDir('etcd');
  let dataDir = `${dir.path}/data`;

  let ports = { client: 0, peer: 0, metrics: 0 };
  let proc: ManagedProcess | undefined;
  let stopped = false;

  const spawnEtcd = () => {
    const client = `${scheme}://127.0.0.1:${ports.client}`;
    const peer = `http://127.0.0.1:${ports.peer}`;
    return launch(etcd, [
      '--name=kitts',
      `--data-dir=${dataDir}`,
      `--listen-client-urls=${client}`,
      `--advertise-client-urls=${client}`,
      `--listen-peer-urls=${peer}`,
      `--initial-advertise-peer-urls=${peer}`,
      `--initial-cluster=kitts=${peer}`,
      `--listen-metrics-urls=http://127.0.0.1:${ports.metrics}`,
      `--heartbeat-interval=${heartbeatInterval}`,
      `--election-timeout=${electionTimeout}`,
      '--logger=zap',
      '--log-level=warn',
      ...tlsArgs,
      ...args,
    ]);
  };

  const boot = async (): Promise<ManagedProcess> => {
    const p = spawnEtcd();
    const end = Date.now() + 20_000;
    for (;;) {
      if (p.hasExited()) throw new Error(`@kitts/testkit: etcd exited during start-up:\n${p.output()}`);
      // Over TLS, /health is asked on the metrics listener, which stays plain HTTP.
      if (await healthy(tls === undefined ? ports.client : ports.metrics)) return p;
      if (Date.now() > end) {
        await p.kill();
        throw new Error(`@kitts/testkit: etcd was not healthy after 20 s:\n${p.output()}`);
      }
      await new Promise((r) => setTimeout(r, 25));
    }
  };

  // Another process may take a port between freePort() and etcd's bind: retry with new ones.
  for (let attempt = 0; ; attempt++) {
    ports = { client: await freePort(), peer: await freePort(), metrics: await freePort() };
    try {
      proc = await boot();
      break;
    } catch (err) {
      if (attempt < 2 && lostPortRace(String(err))) {
        dataDir = `${dir.path}/data-${attempt + 1}`;
        continue;
      }
      await dir.remove();
      throw err;
    }
  }

  const endpoint = `${scheme}://127.0.0.1:${ports.client}`;
  const ctlTls =
    tls === undefined
      ? []
      : [
          `--cacert=${tls.caFile}`,
          ...(tls.clientCertFile === undefined ? [] : [`--cert=${tls.clientCertFile}`]),
          ...(tls.clientKeyFile === undefined ? [] : [`--key=${tls.clientKeyFile}`]),
        ];
  let ctlUser: string[] = [];
  const etcdctl = (...a: (string | readonly string[])[]) =>
    runCommand(etcdctlBin, [
      `--endpoints=${tls === undefined ? `127.0.0.1:${ports.client}` : endpoint}`,
      '--dial-timeout=2s',
      ...ctlTls,
      ...ctlUser,
      ...a.flat(),
    ]);
  if (options.rootPassword !== undefined) {
    try {
      await etcdctl('user', 'add', 'root', `--new-user-password=${options.rootPassword}`);
      await etcdctl('user', 'grant-role', 'root', 'root');
      await etcdctl('auth', 'enable');
      ctlUser = [`--user=root:${options.rootPassword}`];
    } catch (err) {
      await proc?.kill();
      await dir.remove();
      throw err;
    }
  }

  const server: EtcdServer = {
    endpoint,
    port: ports.client,
    get pid() {
      return proc!.pid;
    },
    dataDir,
    etcdctl,
    async revision() {
      const out = await etcdctl('endpoint', 'status', '--write-out=json');
      const parsed = JSON.parse(out) as { Status: { header: { revision: number } } }[];
      return Number(parsed[0]!.Status.header.revision);
    },
    async kill(signal) {
      await proc?.kill(signal);
    },
    async start() {
      if (stopped) throw new Error('@kitts/testkit: this etcd was stopped; start a new one');
      if (proc !== undefined && !proc.hasExited()) return;
      proc = await boot();
    },
    async restart() {
      await server.kill();
      await server.start();
    },
    pause() {
      proc?.pause();
    },
    resume() {
      proc?.resume();
    },
    async stop() {
      stopped = true;
      await proc?.kill();
      await dir.remove();
    },
  };
  return server;
}
