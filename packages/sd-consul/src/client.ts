import type { EventEmitter } from 'node:events';
import { KittsError } from '@kitts/endpoint';

/** The part of npm `consul` (2.x) this package uses: `new Consul({ host, port })` fits. */
export interface ConsulClient {
  health: { service(options: any): Promise<any> };
  agent: {
    service: { deregister(options: any): Promise<any> };
    check: { pass(options: any): Promise<any> };
  };
}

/**
 * What npm `consul` has but does not declare: papi's low-level request method, on which
 * `consul` builds every call, and the client's default options. The client's
 * `agent.service.register()` drops `Weights`, so registration goes through `_put`.
 */
export type LowLevelClient = ConsulClient & {
  _put(request: Record<string, unknown>): Promise<unknown>;
  _defaults?: { token?: string };
};

/** A failed Consul request. It never carries the request, its headers or the ACL token. */
export class ConsulError extends KittsError {
  /** Consul's HTTP status when it answered; undefined for network errors and timeouts. */
  readonly status?: number;

  constructor(message: string, status?: number) {
    super('CONSUL_ERROR', message);
    if (status !== undefined) this.status = status;
  }
}

/** A papi context: emitting 'cancel' aborts its request; `includeResponse` returns [res, body]. */
export type RequestContext = EventEmitter & { includeResponse: true };

/**
 * Turns whatever the client threw into a ConsulError. The client's own errors hold the
 * HTTP response and through it the request with its `X-Consul-Token` header: a logger
 * that serialised them would print the token, so only the status and a short, redacted
 * body survive.
 */
export function toConsulError(err: unknown, op: string, token: string | undefined): ConsulError {
  const e = err as {
    response?: { statusCode?: number; body?: unknown };
    isTimeout?: boolean;
    message?: unknown;
  };
  const status = e?.response?.statusCode;
  let detail: string;
  if (status !== undefined) {
    const body = e.response?.body;
    const text =
      typeof body === 'string'
        ? body
        : Buffer.isBuffer(body)
          ? body.toString('utf8')
          : body === undefined
            ? ''
            : JSON.stringify(body);
    detail = `${status}${text.trim() === '' ? '' : ` ${text.trim().slice(0, 200)}`}`;
  } else if (e?.isTimeout) {
    detail = 'timed out';
  } else {
    detail = typeof e?.message === 'string' ? e.message : String(err);
  }
  return new ConsulError(redact(`kitts/sd-consul: ${op} failed: ${detail}`, token), status);
}

export function redact(text: string, token: string | undefined): string {
  return token ? text.split(token).join('[token]') : text;
}

/** Request headers carrying the ACL token, when there is one. */
export function tokenHeaders(token: string | undefined): Record<string, string> {
  return token ? { 'x-consul-token': token } : {};
}
