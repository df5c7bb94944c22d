/**
 * A real DNS server (dnsmasq, Debian's dnsmasq-base) answering from a fixed record set,
 * for tests of SRV discovery. It listens on 127.0.0.1 only, forwards nothing, and reads
 * no /etc/hosts or resolv.conf. dnsmasq does not reload srv-host lines on SIGHUP, so a
 * new record set means a restart (it takes milliseconds), on the same port.
 */

import { writeFile } from 'node:fs/promises';
import { connect } from 'node:net';
import { freePort } from '../ports.js';
import { findBinary, launch, lostPortRace, type ManagedProcess, tempDir } from './process.js';

export interface SrvRecord {
  /** `_service._proto.domain`, e.g. `_api._tcp.svc.test`. */
  name: string;
  target: string;
  port: number;
  priority?: number;
  weight?: number;
}

export interface HostRecord {
  name: string;
  /** IPv4 and IPv6 addresses, in any mix. */
  addresses: readonly string[];
}

export interface DnsRecords {
  srv?: readonly SrvRecord[];
  hosts?: readonly HostRecord[];
  /**
   * Domains answered here only (dnsmasq `local=/d/`): names under them that have no
   * record get NXDOMAIN. By default the last two labels of every record name.
   */
  domains?: readonly string[];
}

export interface DnsmasqServer {
  readonly port: number;
  /** `127.0.0.1:PORT`, what `Resolver.setServers` takes. */
  readonly address: string;
  readonly pid: number;
  /** Restarts dnsmasq on the same port, serving `records` instead (the same ones when omitted). */
  restart(records?: DnsRecords): Promise<void>;
  /** Kills dnsmasq, keeping its configuration, so `start()` can bring it back. */
  kill(): Promise<void>;
  start(): Promise<void>;
  /** Kills dnsmasq and removes its files. Safe to call twice. */
  stop(): Promise<void>;
}

function check(records: DnsRecords): void {
  const bad = (what: string, v: unknown) => {
    throw new TypeError(`@kitts/testkit: invalid ${what}: ${JSON.stringify(v)}`);
  };
  const label = /^[A-Za-z0-9_.-]+$/;
  for (const r of records.srv ?? []) {
    if (!label.test(r.name)) bad('SRV name', r.name);
    if (!label.test(r.target)) bad('SRV target', r.target);
    for (const n of [r.port, r.priority ?? 0, r.weight ?? 0]) {
      if (!Number.isInteger(n) || n < 0 || n > 65535) bad('SRV port/priority/weight', r);
    }
  }
  for (const h of records.hosts ?? []) {
    if (!label.test(h.name)) bad('host name', h.name);
    if (h.addresses.length === 0) bad('host (no addresses)', h);
    for (const a of h.addresses) if (!/^[0-9A-Fa-f:.]+$/.test(a)) bad('address', a);
  }
}

function domainsOf(records: DnsRecords): string[] {
  if (records.domains) return [...records.domains];
  const names = [...(records.srv ?? []).map((r) => r.name), ...(records.hosts ?? []).map((h) => h.name)];
  return [...new Set(names.map((n) => n.split('.').slice(-2).join('.')))];
}

function config(port: number, pidFile: string, records: DnsRecords): string {
  check(records);
  const lines = [
    `port=${port}`,
    'listen-address=127.0.0.1',
    'bind-interfaces',
    'no-resolv',
    'no-hosts',
    'no-poll',
    'log-facility=-',
    `pid-file=${pidFile}`,
    ...domainsOf(records).map((d) => `local=/${d}/`),
  ];
  for (const h of records.hosts ?? []) for (const a of h.addresses) lines.push(`host-record=${h.name},${a}`);
  for (const r of records.srv ?? []) {
    lines.push(`srv-host=${r.name},${r.target},${r.port},${r.priority ?? 0},${r.weight ?? 0}`);
  }
  return `${lines.join('\n')}\n`;
}

function accepts(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect({ host: '127.0.0.1', port });
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => resolve(false));
  });
}

export async function startDnsmasq(records: DnsRecords = {}): Promise<DnsmasqServer> {
  const dnsmasq = findBinary('dnsmasq', 'dnsmasq-base');
  const dir = await tempDir('dnsmasq');
  const conf = `${dir.path}/dnsmasq.conf`;
  const pidFile = `${dir.path}/dnsmasq.pid`;
  let current = records;
  let port = 0;
  let proc: ManagedProcess | undefined;
  let stopped = false;

  const boot = async (): Promise<ManagedProcess> => {
    await writeFile(conf, config(port, pidFile, current));
    const p = launch(dnsmasq, ['-k', `--conf-file=${conf}`]);
    const end = Date.now() + 10_000;
    for (;;) {
      if (p.hasExited()) throw new Error(`@kitts/testkit: dnsmasq exited during start-up:\n${p.output()}`);
      // dnsmasq answers TCP on the same port once it has bound both sockets.
      if (await accepts(port)) return p;
      if (Date.now() > end) {
        await p.kill();
        throw new Error(`@kitts/testkit: dnsmasq did not start within 10 s:\n${p.output()}`);
      }
      await new Promise((r) => setTimeout(r, 10));
    }
  };

  for (let attempt = 0; ; attempt++) {
    port = await freePort();
    try {
      proc = await boot();
      break;
    } catch (err) {
      if (attempt < 2 && lostPortRace(String(err))) continue;
      await dir.remove();
      throw err;
    }
  }

  const server: DnsmasqServer = {
    port,
    address: `127.0.0.1:${port}`,
    get pid() {
      return proc!.pid;
    },
    async restart(next) {
      if (stopped) throw new Error('@kitts/testkit: this dnsmasq was stopped; start a new one');
      if (next !== undefined) {
        check(next);
        current = next;
      }
      await proc?.kill('SIGTERM');
      proc = await boot();
    },
    async kill() {
      await proc?.kill('SIGTERM');
    },
    async start() {
      if (stopped) throw new Error('@kitts/testkit: this dnsmasq was stopped; start a new one');
      if (proc !== undefined && !proc.hasExited()) return;
      proc = await boot();
    },
    async stop() {
      stopped = true;
      await proc?.kill('SIGTERM');
      await dir.remove();
    },
  };
  return server;
}
