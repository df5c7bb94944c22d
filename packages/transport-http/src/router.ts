/**
 * A route table on find-my-way (the radix-tree router under Fastify) as one Node
 * listener. Misses are answered as JSON errors: 404 for an unknown path, 405 with
 * `Allow` when the path exists under other methods, 400 for a malformed URL.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import FindMyWay from 'find-my-way';
import { statusName, writeJSONError } from './encode.js';
import type { HttpHandler } from './server.js';

export interface Route {
  /** One method or several; a GET route also answers HEAD unless HEAD is routed itself. */
  method: string | readonly string[];
  /** find-my-way syntax: `/goods/:id`, `/files/*`, `/users/:id(^\\d+$)`. */
  path: string;
  /** Called with the path parameters third, as `createHandler`'s listeners expect. */
  handler:
    | HttpHandler
    | ((req: IncomingMessage, res: ServerResponse, params: Record<string, string>) => void);
}

export interface RouterOptions {
  /** `/a/` matches `/a`. Default false. */
  ignoreTrailingSlash?: boolean;
  /** Paths match regardless of case. Default true. */
  caseSensitive?: boolean;
}

/** One listener for the whole table; throws at once on a duplicate or malformed route. */
export function createRouter(
  routes: readonly Route[],
  options: RouterOptions = {},
): (req: IncomingMessage, res: ServerResponse) => void {
  const methods = new Set<string>();
  const router = FindMyWay({
    ignoreTrailingSlash: options.ignoreTrailingSlash ?? false,
    caseSensitive: options.caseSensitive ?? true,
    defaultRoute: (req, res) => miss(req, res),
    onBadUrl: (path, _req, res) => {
      writeJSONError(res, 400, error(400, `malformed URL ${JSON.stringify(path)}`));
    },
  });
  const routed = new Set<string>();
  for (const r of routes) {
    for (const m of typeof r.method === 'string' ? [r.method] : r.method)
      routed.add(`${m.toUpperCase()} ${r.path}`);
  }
  for (const r of routes) {
    const list = (typeof r.method === 'string' ? [r.method] : [...r.method]).map((m) => m.toUpperCase());
    if (list.includes('GET') && !list.includes('HEAD') && !routed.has(`HEAD ${r.path}`)) list.push('HEAD');
    for (const m of list) methods.add(m);
    router.on(
      list as FindMyWay.HTTPMethod[],
      r.path,
      r.handler as FindMyWay.Handler<FindMyWay.HTTPVersion.V1>,
    );
  }
  const known = [...methods].sort();

  function miss(req: IncomingMessage, res: ServerResponse): void {
    const url = req.url ?? '/';
    const allowed: string[] = [];
    for (const m of known) {
      if (m !== req.method && router.find(m as FindMyWay.HTTPMethod, url) !== null) allowed.push(m);
    }
    const path = pathOf(url);
    if (allowed.length === 0) {
      writeJSONError(res, 404, error(404, `no route for ${req.method} ${path}`));
      return;
    }
    const allow = allowed.join(', ');
    writeJSONError(res, 405, error(405, `${req.method} is not allowed on ${path}; allowed: ${allow}`), {
      allow,
    });
  }

  return (req, res) => {
    router.lookup(req, res);
  };
}

function error(status: number, message: string) {
  return { error: { code: statusName(status), message } };
}

function pathOf(url: string): string {
  const q = url.indexOf('?');
  return q < 0 ? url : url.slice(0, q);
}
