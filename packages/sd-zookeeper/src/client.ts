import { type Logger, silentLogger } from '@kitts/endpoint';
import zookeeper from 'node-zookeeper-client';

export interface ZkClientOptions {
  /** Requested session timeout in ms (the server clamps it to its min/max); 10 000 by default. */
  sessionTimeout?: number;
  /** Upper bound of the random pause between rounds of reconnect attempts, ms; 1000 by default. */
  spinDelay?: number;
  /** `scheme:auth` credentials sent on every connection, e.g. `{ scheme: 'digest', auth: 'user:pass' }`. */
  auth?: readonly { scheme: string; auth: string }[];
  logger?: Logger;
}

/**
 * What happens to the connection: `connected` (with `newSession` when ephemeral nodes
 * and watches from before are gone), `disconnected` (the session may still be alive),
 * `expired` (it is not: a new one is being established) and `closed`.
 */
export type ZkEvent =
  | { readonly type: 'connected'; readonly newSession: boolean; readonly sessionId: string }
  | { readonly type: 'disconnected' }
  | { readonly type: 'expired'; readonly sessionId: string }
  | { readonly type: 'closed' };

export type ZkState = 'connecting' | 'connected' | 'disconnected' | 'closed';

export type ZkWatcher = (event: zookeeper.Event) => void;

/** Raised by operations after close(). */
export class ZkClosedError extends Error {
  constructor() {
    super('kitts/sd-zookeeper: the client is closed');
    this.name = 'ZkClosedError';
  }
}

/** True when `err` is a ZooKeeper exception with the given name, e.g. 'NO_NODE'. */
export function isZkError(err: unknown, name: string): boolean {
  return typeof err === 'object' && err !== null && (err as { name?: unknown }).name === name;
}

// node-zookeeper-client's internal connection manager, touched only to force a close
// when the server cannot be reached (its close() then never completes).
/**
 * Two fixes to node-zookeeper-client 1.1.3's connection handling, both seen here when
 * ZooKeeper restarted under a connected client. Its socket handlers are bound when it
 * dials, so own properties wrapping the prototype's handlers are what every later
 * socket uses.
 * - It keeps the bytes of a frame cut short when a socket closed and parses the next
 *   connection's answers after them: the handshake reads garbage, requests hang, or an
 *   "Unknown code" exception escapes from a socket handler. Drop them on close.
 * - It waits for the handshake answer without a timeout. A server that accepts the
 *   connection while still starting may never answer it, and the client then hangs in
 *   CONNECTING forever. Like the Java client (2/3 of the session timeout), give up on
 *   a silent handshake and dial again.
 */
function patchConnectionHandling(raw: zookeeper.Client, sessionTimeout: number): void {
  const cm = (raw as unknown as { connectionManager: ConnectionManagerInternals }).connectionManager;
  const { onSocketClosed, onSocketConnected } = cm;
  const handshakeTimeout = Math.max(100, Math.floor((sessionTimeout * 2) / 3));
  cm.onSocketClosed = function (this: ConnectionManagerInternals, ...args: unknown[]) {
    this.pendingBuffer = null;
    return onSocketClosed.apply(this, args);
  };
  cm.onSocketConnected = function (this: ConnectionManagerInternals, ...args: unknown[]) {
    const socket = this.socket;
    if (socket !== undefined) {
      const timer = setTimeout(() => {
        if (this.socket === socket && this.state === CONNECTING) socket.destroy();
      }, handshakeTimeout);
      timer.unref();
      socket.once('close', () => clearTimeout(timer));
    }
    return onSocketConnected.apply(this, args);
  };
}

interface ConnectionManagerInternals {
  pendingBuffer: Buffer | null;
  onSocketClosed(...args: unknown[]): void;
  onSocketConnected(...args: unknown[]): void;
  state: number;
  servers: { host: string; port: number }[];
  socket?: { destroy(): void; once(event: 'close', listener: () => void): void };
  connectTimeoutHandler?: NodeJS.Timeout | null;
  connect(): void;
  on(event: 'state', listener: (state: number) => void): void;
  off(event: 'state', listener: (state: number) => void): void;
}
const CLOSED = -2;
const CONNECTING = 1;
const CONNECTED = 2;
const CONNECTED_READ_ONLY = 3;

/**
 * A ZooKeeper connection that outlives sessions. node-zookeeper-client (like every
 * ZooKeeper client) gives up for good once its session expires; this wraps it and
 * starts a new session then, telling subscribers (`onEvent`) so that an Instancer
 * re-reads and re-arms its watches and a Registrar re-creates its ephemeral node.
 * One client serves any number of instancers and registrars.
 */
export class ZkClient {
  readonly connectionString: string;
  private raw: zookeeper.Client;
  private readonly options: Required<Omit<ZkClientOptions, 'logger' | 'auth'>>;
  private readonly auth: readonly { scheme: string; auth: string }[];
  private readonly logger: Logger;
  private readonly listeners = new Set<(e: ZkEvent) => void>();
  private readonly inflight = new Set<(err: Error) => void>();
  private lastSession = '';
  private current: ZkState = 'connecting';
  private waiters: { resolve: () => void; reject: (e: Error) => void }[] = [];

  constructor(connectionString: string, options: ZkClientOptions = {}) {
    if (typeof connectionString !== 'string' || !/^[^\s/,]+(,[^\s/,]+)*(\/\S*)?$/.test(connectionString)) {
      throw new TypeError(
        `kitts/sd-zookeeper: connection string must look like 'host:port[,host:port...][/chroot]', got ${JSON.stringify(connectionString)}`,
      );
    }
    const { sessionTimeout = 10_000, spinDelay = 1000 } = options;
    if (!(Number.isFinite(sessionTimeout) && sessionTimeout > 0)) {
      throw new RangeError(
        `kitts/sd-zookeeper: sessionTimeout must be a positive number of ms, got ${sessionTimeout}`,
      );
    }
    if (!(Number.isFinite(spinDelay) && spinDelay >= 0)) {
      throw new RangeError(`kitts/sd-zookeeper: spinDelay must be a number of ms >= 0, got ${spinDelay}`);
    }
    this.connectionString = connectionString;
    this.options = { sessionTimeout, spinDelay };
    this.auth = options.auth ?? [];
    this.logger = options.logger ?? silentLogger;
    this.raw = this.open();
  }

  get state(): ZkState {
    return this.current;
  }

  /** The current session id (hex), '' before the first connection. */
  get sessionId(): string {
    return this.lastSession;
  }

  /** Hear about connection changes. Returns an unsubscribe function. */
  onEvent(listener: (e: ZkEvent) => void): () => void {
    this.listeners.add(listener);
    return () => {
      this.listeners.delete(listener);
    };
  }

  /** Resolves when connected (at once if already); rejects once closed. */
  connected(): Promise<void> {
    if (this.current === 'connected') return Promise.resolve();
    if (this.current === 'closed') return Promise.reject(new ZkClosedError());
    return new Promise((resolve, reject) => this.waiters.push({ resolve, reject }));
  }

  getChildren(path: string, watcher?: ZkWatcher): Promise<string[]> {
    return this.call<string[]>((raw, cb) =>
      watcher ? raw.getChildren(path, watcher, cb) : raw.getChildren(path, cb),
    );
  }

  getData(path: string, watcher?: ZkWatcher): Promise<Buffer | null> {
    return this.call<Buffer | null>((raw, cb) =>
      watcher ? raw.getData(path, watcher, cb) : raw.getData(path, cb),
    );
  }

  /** True when the node exists; with a watcher, also tells when it is created or deleted. */
  async exists(path: string, watcher?: ZkWatcher): Promise<boolean> {
    const stat = await this.call<unknown>((raw, cb) =>
      watcher ? raw.exists(path, watcher, cb) : raw.exists(path, cb),
    );
    return Boolean(stat);
  }

  create(path: string, data: Buffer, mode: number): Promise<string> {
    return this.call<string>((raw, cb) => raw.create(path, data, mode, cb));
  }

  /** Creates `path` and its missing parents as persistent nodes; fine if they exist. */
  async mkdirp(path: string): Promise<void> {
    await this.call<string>((raw, cb) => raw.mkdirp(path, cb));
  }

  async setData(path: string, data: Buffer, version = -1): Promise<void> {
    await this.call<unknown>((raw, cb) => raw.setData(path, data, version, cb));
  }

  remove(path: string, version = -1): Promise<void> {
    return this.call<void>((raw, cb) => raw.remove(path, version, cb));
  }

  /** Ends the session (its ephemeral nodes go at once) and stops reconnecting. */
  async close(): Promise<void> {
    if (this.current === 'closed') return;
    this.setState('closed');
    for (const fail of [...this.inflight]) fail(new ZkClosedError());
    this.emit({ type: 'closed' });
    this.listeners.clear();
    await closeRaw(this.raw, Math.min(2000, this.options.sessionTimeout));
  }

  private open(): zookeeper.Client {
    const raw = zookeeper.createClient(this.connectionString, {
      sessionTimeout: this.options.sessionTimeout,
      spinDelay: this.options.spinDelay,
      retries: 0,
    });
    patchConnectionHandling(raw, this.options.sessionTimeout);
    for (const { scheme, auth } of this.auth) raw.addAuthInfo(scheme, Buffer.from(auth));
    raw.on('state', (state: zookeeper.State) => this.onState(raw, state));
    raw.connect();
    return raw;
  }

  private onState(raw: zookeeper.Client, state: zookeeper.State): void {
    if (raw !== this.raw || this.current === 'closed') return;
    const { State } = zookeeper;
    if (state === State.SYNC_CONNECTED || state === State.CONNECTED_READ_ONLY) {
      const sessionId = raw.getSessionId().toString('hex');
      const newSession = sessionId !== this.lastSession;
      this.lastSession = sessionId;
      this.setState('connected');
      this.logger.debug({ sessionId, newSession }, 'kitts/sd-zookeeper: connected');
      this.emit({ type: 'connected', newSession, sessionId });
    } else if (state === State.DISCONNECTED) {
      this.setState('disconnected');
      this.logger.info({ sessionId: this.lastSession }, 'kitts/sd-zookeeper: disconnected; reconnecting');
      this.emit({ type: 'disconnected' });
    } else if (state === State.EXPIRED) {
      const sessionId = this.lastSession;
      this.logger.warn({ sessionId }, 'kitts/sd-zookeeper: session expired; starting a new one');
      // The old client closes itself; its late events are ignored (raw !== this.raw).
      this.raw = this.open();
      this.setState('connecting');
      this.emit({ type: 'expired', sessionId });
    } else if (state === State.AUTH_FAILED) {
      this.logger.error({}, 'kitts/sd-zookeeper: authentication failed');
      this.setState('disconnected');
      this.emit({ type: 'disconnected' });
    }
  }

  private setState(state: ZkState): void {
    this.current = state;
    if (state !== 'connected' && state !== 'closed') return;
    const waiters = this.waiters;
    this.waiters = [];
    for (const w of waiters) {
      if (state === 'connected') w.resolve();
      else w.reject(new ZkClosedError());
    }
  }

  private emit(event: ZkEvent): void {
    for (const l of [...this.listeners]) {
      try {
        l(event);
      } catch (err) {
        this.logger.error({ err }, 'kitts/sd-zookeeper: a connection listener threw');
      }
    }
  }

  /** Runs one callback-style operation on the current session's client as a promise. */
  private call<T>(
    run: (raw: zookeeper.Client, cb: (err: Error | zookeeper.Exception | null, value?: T) => void) => void,
  ): Promise<T> {
    if (this.current === 'closed') return Promise.reject(new ZkClosedError());
    return new Promise<T>((resolve, reject) => {
      // An operation queued while disconnected waits for the connection; close() must
      // still be able to end it.
      const fail = (err: Error) => {
        this.inflight.delete(fail);
        reject(err);
      };
      this.inflight.add(fail);
      run(this.raw, (err, value) => {
        if (!this.inflight.delete(fail)) return;
        if (err) reject(err);
        else resolve(value as T);
      });
    });
  }
}

/**
 * Closes a node-zookeeper-client Client. Connected, it sends closeSession and the
 * server hangs up. Otherwise its close() misbehaves: without a server it never
 * completes and goes on reconnecting (a reconnect overrides its closing state), and
 * during the handshake it sends closeSession early and takes the handshake's answer
 * for the reply, which throws from its socket handler. So then (or when the server does
 * not hang up within `wait` ms) it is shut down by hand: reconnects become no-ops, a
 * round already scheduled dials a port that refuses at once, the socket is destroyed.
 * A session that existed then expires on the server after its timeout.
 */
async function closeRaw(raw: zookeeper.Client, wait: number): Promise<void> {
  const cm = (raw as unknown as { connectionManager: ConnectionManagerInternals }).connectionManager;
  if (cm.state === CLOSED) return;
  if (cm.state === CONNECTED || cm.state === CONNECTED_READ_ONLY) {
    let timer: NodeJS.Timeout | undefined;
    let onState: ((s: number) => void) | undefined;
    const closed = await new Promise<boolean>((resolve) => {
      timer = setTimeout(() => resolve(false), wait);
      onState = (s) => {
        if (s === CLOSED) resolve(true);
      };
      cm.on('state', onState);
      raw.close();
    });
    clearTimeout(timer);
    cm.off('state', onState!);
    if (closed) return;
  }
  cm.connect = () => {};
  cm.servers = cm.servers.map(() => ({ host: '127.0.0.1', port: 0 }));
  if (cm.connectTimeoutHandler) clearTimeout(cm.connectTimeoutHandler);
  cm.socket?.destroy();
}
