import { KittsError } from '@kitts/endpoint';
import { Agent, request } from 'undici';

/** A failed Eureka request: the HTTP status when the server answered, else a network error. */
export class EurekaError extends KittsError {
  readonly status?: number;

  constructor(message: string, status?: number) {
    super('EUREKA_ERROR', message);
    if (status !== undefined) this.status = status;
  }
}

export interface EurekaHttpOptions {
  /** Eureka's base URL, e.g. "http://eureka:8761/eureka" (Netflix's own server: ".../eureka/v2"). */
  url: string;
  /** Extra headers on every request (authentication, for example). */
  headers?: Record<string, string>;
  /** Per-request timeout in ms. Default 10_000. */
  timeout?: number;
}

/**
 * The few REST calls Eureka needs, on an undici Agent owned by one instancer or registrar
 * so that close() also closes its connections.
 */
export class EurekaHttp {
  readonly base: string;
  private readonly agent: Agent;
  private readonly headers: Record<string, string>;

  constructor(options: EurekaHttpOptions) {
    checkUrl(options);
    this.base = options.url.replace(/\/+$/, '');
    const timeout = options.timeout ?? 10_000;
    this.agent = new Agent({ headersTimeout: timeout, bodyTimeout: timeout, connections: 2 });
    this.headers = { accept: 'application/json', ...options.headers };
  }

  /** Sends one request; resolves with the status and text of any answer, rejects on network errors. */
  async call(
    method: 'GET' | 'POST' | 'PUT' | 'DELETE',
    path: string,
    options: { body?: unknown; signal?: AbortSignal; what: string },
  ): Promise<{ status: number; text: string }> {
    try {
      const res = await request(`${this.base}${path}`, {
        method,
        dispatcher: this.agent,
        signal: options.signal,
        headers:
          options.body === undefined ? this.headers : { ...this.headers, 'content-type': 'application/json' },
        body: options.body === undefined ? undefined : JSON.stringify(options.body),
      });
      return { status: res.statusCode, text: await res.body.text() };
    } catch (err) {
      if (options.signal?.aborted) throw err;
      throw new EurekaError(`kitts/sd-eureka: ${options.what} failed: ${(err as Error).message}`);
    }
  }

  async close(): Promise<void> {
    await this.agent.close();
  }
}

/** An unexpected answer as an EurekaError naming what was attempted. */
export function answerError(what: string, status: number, text: string): EurekaError {
  const detail = text.trim().slice(0, 200);
  return new EurekaError(`kitts/sd-eureka: ${what} failed: ${status}${detail ? ` ${detail}` : ''}`, status);
}

/** Throws a TypeError unless `options.url` is an absolute http(s) URL. */
export function checkUrl(options: EurekaHttpOptions): void {
  const url = options?.url;
  if (typeof url !== 'string' || !URL.canParse(url) || !/^https?:$/.test(new URL(url).protocol)) {
    throw new TypeError(`kitts/sd-eureka: options.url must be Eureka's base http(s) URL, got ${String(url)}`);
  }
}
