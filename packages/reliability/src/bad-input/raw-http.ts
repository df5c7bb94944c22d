/**
 * Sends raw bytes over a fresh TCP connection and reads what comes back: every status
 * line of the answer (a pipelined request can have several), or how the connection ended
 * without one.
 */
import { connect } from 'node:net';

export interface RawOutcome {
  /** Status codes of every response in the answer, in order. */
  statuses: number[];
  /** How the exchange ended. */
  end: 'closed' | 'reset' | 'timeout' | 'refused';
  /** Bytes received. */
  received: number;
}

const STATUS_LINE = /(?:^|\r\n)HTTP\/1\.[01] (\d{3})/g;

export function sendRaw(
  port: number,
  bytes: Buffer,
  after: 'wait' | 'end' | 'reset',
  timeout = 5000,
): Promise<RawOutcome> {
  return new Promise((resolve) => {
    const chunks: Buffer[] = [];
    let received = 0;
    let settled = false;
    const socket = connect({ host: '127.0.0.1', port });
    const finish = (end: RawOutcome['end']) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      socket.destroy();
      const text = Buffer.concat(chunks).toString('latin1');
      const statuses = [...text.matchAll(STATUS_LINE)].map((m) => Number(m[1]));
      resolve({ statuses, end, received });
    };
    const timer = setTimeout(() => finish('timeout'), timeout);
    socket.on('data', (c: Buffer) => {
      received += c.length;
      // Keep the start of the answer (its status lines), not a whole large body.
      if (received < 256 * 1024) chunks.push(c);
    });
    socket.on('error', (err: NodeJS.ErrnoException) => {
      finish(err.code === 'ECONNREFUSED' ? 'refused' : 'reset');
    });
    socket.on('close', () => finish('closed'));
    socket.on('connect', () => {
      socket.write(bytes, (err) => {
        if (err) return; // the server closed first: 'error' or 'close' reports it
        if (after === 'end') socket.end();
        else if (after === 'reset') setImmediate(() => socket.resetAndDestroy());
      });
    });
  });
}
