/**
 * A real standalone ZooKeeper (Debian's zookeeper package, run by `java`) for
 * integration tests. Started from a cfg file, never the positional `PORT DIR` form, which
 * binds every interface; the admin server (Jetty on 0.0.0.0:8080) is off. A 200 ms tick
 * allows session timeouts from 400 ms, so expiry tests take about a second.
 */
import { writeFile } from 'node:fs/promises';
import { connect } from 'node:net';
import { freePort } from '../ports.js';
import { findBinary, launch, lostPortRace, type ManagedProcess, requireFile, tempDir } from './process.js';

const JARS = [
  '/usr/share/java/zookeeper.jar',
  '/usr/share/java/slf4j-log4j12.jar',
  '/usr/share/java/log4j-1.2.jar',
];

export interface ZookeeperOptions {
  /** Milliseconds; 200 by default. Session timeouts must lie within 2 and 20 ticks unless set below. */
  tickTime?: number;
  minSessionTimeout?: number;
  maxSessionTimeout?: number;
}

export interface ZookeeperServer {
  /** `127.0.0.1:PORT`, what ZooKeeper clients take. */
  readonly connectionString: string;
  readonly port: number;
  /** PID of the current java process (changes on restart). */
  readonly pid: number;
  readonly dataDir: string;
  /** Sends a four-letter-word command (`ruok` and `srvr` are allowed) and returns the answer. */
  command(word: 'ruok' | 'srvr'): Promise<string>;
  /** Kills the server (SIGKILL by default), keeping its data so `start()` can bring it back. */
  kill(signal?: NodeJS.Signals): Promise<void>;
  /** Starts it again on the same port with the same data; sessions resume from the snapshot. */
  start(): Promise<void>;
  /** kill() then start(). */
  restart(): Promise<void>;
  pause(): void;
  resume(): void;
  /** Kills the server and removes its data. Safe to call twice. */
  stop(): Promise<void>;
}

function fourLetterWord(port: number, word: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = connect({ host: '127.0.0.1', port });
    let answer = '';
    socket.setTimeout(2000, () => socket.destroy(new Error(`no answer to ${word}`)));
    socket.on('connect', () => socket.end(word));
    socket.on('data', (c: Buffer) => {
      answer += c.toString('utf8');
    });
    socket.on('error', reject);
    socket.on('close', () => resolve(answer));
  });
}

export async function startZookeeper(options: ZookeeperOptions = {}): Promise<ZookeeperServer> {
  const java = findBinary('java', 'default-jre-headless');
  for (const jar of JARS) requireFile(jar, 'zookeeper');
  const { tickTime = 200, minSessionTimeout = tickTime * 2, maxSessionTimeout = 20_000 } = options;
  const dir = await tempDir('zookeeper');
  const dataDir = `${dir.path}/data`;
  const cfg = `${dir.path}/zoo.cfg`;
  let port = 0;
  let proc: ManagedProcess | undefined;
  let stopped = false;

  const boot = async (): Promise<ManagedProcess> => {
    const p = launch(java, [
      '-Xmx128m',
      '-XX:+UseSerialGC',
      '-XX:TieredStopAtLevel=1',
      '-Dzookeeper.root.logger=WARN,CONSOLE',
      `-Dzookeeper.log.dir=${dir.path}`,
      '-cp',
      ['/etc/zookeeper/conf', ...JARS].join(':'),
      'org.apache.zookeeper.server.ZooKeeperServerMain',
      cfg,
    ]);
    const end = Date.now() + 30_000;
    for (;;) {
      if (p.hasExited()) throw new Error(`@kitts/testkit: ZooKeeper exited during start-up:\n${p.output()}`);
      // `ruok` says imok before the server takes requests; `srvr` reports a Mode only once it does.
      if ((await fourLetterWord(port, 'srvr').catch(() => '')).includes('Mode:')) return p;
      if (Date.now() > end) {
        await p.kill();
        throw new Error(`@kitts/testkit: ZooKeeper was not serving after 30 s:\n${p.output()}`);
      }
      await new Promise((r) => setTimeout(r, 25));
    }
  };

  for (let attempt = 0; ; attempt++) {
    port = await freePort();
    await writeFile(
      cfg,
      [
        `tickTime=${tickTime}`,
        `minSessionTimeout=${minSessionTimeout}`,
        `maxSessionTimeout=${maxSessionTimeout}`,
        `dataDir=${dataDir}`,
        `clientPort=${port}`,
        'clientPortAddress=127.0.0.1',
        'admin.enableServer=false',
        '4lw.commands.whitelist=ruok,srvr',
        '',
      ].join('\n'),
    );
    try {
      proc = await boot();
      break;
    } catch (err) {
      if (attempt < 2 && lostPortRace(String(err))) continue;
      await dir.remove();
      throw err;
    }
  }

  const server: ZookeeperServer = {
    connectionString: `127.0.0.1:${port}`,
    port,
    get pid() {
      return proc!.pid;
    },
    dataDir,
    command: (word) => fourLetterWord(port, word),
    async kill(signal) {
      await proc?.kill(signal);
    },
    async start() {
      if (stopped) throw new Error('@kitts/testkit: this ZooKeeper was stopped; start a new one');
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
