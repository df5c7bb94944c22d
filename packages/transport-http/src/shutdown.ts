import type { IncomingMessage, Server, ServerResponse } from 'node:http';

export interface ShutdownOptions {
  /** Milliseconds in-flight requests get to finish before their sockets are destroyed. Default 10 s. */
  timeout?: number;
  /** How often idle keep-alive connections are closed while waiting. Default 25 ms. */
  sweepInterval?: number;
}

/**
 * Stop a server gracefully: stop accepting, close idle keep-alive connections, let
 * in-flight requests finish (their connections close after the answer), and after
 * `timeout` destroy whatever is left. Resolves when the server has closed.
 */
export function shutdown(server: Server, options: ShutdownOptions = {}): Promise<void> {
  const { timeout = 10_000, sweepInterval = 25 } = options;
  return new Promise<void>((resolve) => {
    // Requests that still arrive on open keep-alive connections are served, then the
    // connection closes: `connection: close` makes Node end it after the response.
    const lastCall = (_req: IncomingMessage, res: ServerResponse) => {
      if (!res.headersSent) res.setHeader('connection', 'close');
    };
    server.prependListener('request', lastCall);
    // A connection whose request finishes after close() turns idle, and nothing closes an
    // idle connection but its keep-alive timeout; sweep until every one is gone.
    const sweep = setInterval(() => server.closeIdleConnections(), sweepInterval);
    const force = setTimeout(() => server.closeAllConnections(), timeout);
    sweep.unref();
    force.unref();
    server.close(() => {
      clearInterval(sweep);
      clearTimeout(force);
      server.off('request', lastCall);
      resolve();
    });
    server.closeIdleConnections();
  });
}
