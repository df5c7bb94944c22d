/**
 * Sends one hand-built gRPC call over an HTTP/2 session (node:http2, no gRPC library) and
 * reads its answer: the HTTP :status and the grpc-status from the headers (a
 * trailers-only answer) or the trailers.
 */
import { type ClientHttp2Session, connect, constants } from 'node:http2';
import type { GrpcCase } from './grpc-cases.js';

export interface GrpcOutcome {
  httpStatus: number | undefined;
  grpcStatus: number | undefined;
  end: 'answered' | 'reset' | 'timeout' | 'session-error';
}

/**
 * HTTP/2 sessions to one server, each carrying at most `callsPerSession` calls before the
 * next call opens a new one (the old one closes once its calls end). Node's HTTP/2 server
 * answers a client that keeps sending it streams it must refuse with ENHANCE_YOUR_CALM
 * (its DoS defence), which ends every call on that connection; spreading malformed
 * calls over connections, as many misbehaving clients would, keeps each call's answer
 * its own. `goaways` counts the connections the server ended.
 */
export class Http2Target {
  private session: ClientHttp2Session | undefined;
  private calls = 0;
  /** Calls in flight per session, to close a retired session once its last call ends. */
  private readonly active = new Map<ClientHttp2Session, number>();
  goaways = 0;

  constructor(
    private readonly port: number,
    private readonly callsPerSession = 10,
  ) {}

  private current(): ClientHttp2Session {
    const s0 = this.session;
    if (s0 === undefined || s0.closed || s0.destroyed || this.calls >= this.callsPerSession) {
      if (s0 !== undefined && (this.active.get(s0) ?? 0) === 0) this.retire(s0);
      const s = connect(`http://127.0.0.1:${this.port}`);
      s.on('error', () => {}); // each stream reports its own failure
      s.on('goaway', () => {
        this.goaways++;
      });
      this.session = s;
      this.calls = 0;
    }
    this.calls++;
    return this.session!;
  }

  private retire(s: ClientHttp2Session): void {
    this.active.delete(s);
    if (!s.closed) s.close();
  }

  private opened(s: ClientHttp2Session): void {
    this.active.set(s, (this.active.get(s) ?? 0) + 1);
  }

  private ended(s: ClientHttp2Session): void {
    const n = (this.active.get(s) ?? 1) - 1;
    this.active.set(s, n);
    if (n === 0 && s !== this.session) this.retire(s);
  }

  send(c: GrpcCase, timeout = 5000): Promise<GrpcOutcome> {
    return new Promise((resolve) => {
      let httpStatus: number | undefined;
      let grpcStatus: number | undefined;
      let settled = false;
      const done = (end: GrpcOutcome['end']) => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        if (!stream.destroyed) stream.close(constants.NGHTTP2_CANCEL);
        resolve({ httpStatus, grpcStatus, end });
      };
      let stream: ReturnType<ClientHttp2Session['request']>;
      const session = this.current();
      try {
        stream = session.request(c.headers, { endStream: false });
      } catch {
        resolve({ httpStatus, grpcStatus, end: 'session-error' });
        return;
      }
      this.opened(session);
      stream.once('close', () => this.ended(session));
      const timer = setTimeout(() => done('timeout'), timeout);
      const readStatus = (h: Record<string, unknown>) => {
        if (h[':status'] !== undefined) httpStatus = Number(h[':status']);
        if (h['grpc-status'] !== undefined) grpcStatus = Number(h['grpc-status']);
      };
      stream.on('response', readStatus);
      stream.on('trailers', readStatus);
      stream.on('data', () => {});
      stream.on('error', () => done(httpStatus === undefined ? 'reset' : 'answered'));
      stream.on('close', () =>
        done(httpStatus === undefined && grpcStatus === undefined ? 'reset' : 'answered'),
      );
      if (c.finish === 'reset') {
        stream.write(c.body, () => stream.close(constants.NGHTTP2_CANCEL));
      } else {
        stream.end(c.body);
      }
    });
  }

  close(): Promise<void> {
    const s = this.session;
    this.session = undefined;
    for (const old of [...this.active.keys()]) if (old !== s) this.retire(old);
    if (s === undefined || s.destroyed) return Promise.resolve();
    return new Promise((resolve) => {
      s.close(() => resolve());
      setTimeout(() => {
        s.destroy();
        resolve();
      }, 1000).unref();
    });
  }
}
