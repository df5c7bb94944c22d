import type { IncomingMessage, ServerResponse } from 'node:http';
import { type Registry, register } from 'prom-client';

/**
 * A node:http request handler for a `/metrics` route: the registry in Prometheus text
 * format (or OpenMetrics, when the registry was made for it). Plain `(req, res)`, so it
 * also mounts on express, on fastify through `reply.raw`, or on a bare `createServer`.
 */
export function metricsHandler(
  registry: Registry = register,
): (req: IncomingMessage, res: ServerResponse) => void {
  if (typeof registry?.metrics !== 'function') {
    throw new TypeError('kitts/metrics: metricsHandler() needs a prom-client Registry');
  }
  return (req, res) => {
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      res.writeHead(405, { allow: 'GET, HEAD', 'content-type': 'text/plain; charset=utf-8' });
      res.end('method not allowed\n');
      return;
    }
    registry.metrics().then(
      (text) => {
        res.writeHead(200, {
          'content-type': registry.contentType,
          'content-length': Buffer.byteLength(text),
          'cache-control': 'no-store',
        });
        res.end(req.method === 'HEAD' ? undefined : text);
      },
      (err: unknown) => {
        // A failing collect() callback must not take the route down with it.
        if (!res.headersSent) res.writeHead(500, { 'content-type': 'text/plain; charset=utf-8' });
        res.end(`collecting metrics failed: ${err instanceof Error ? err.message : String(err)}\n`);
      },
    );
  };
}
