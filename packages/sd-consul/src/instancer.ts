import { EventEmitter } from 'node:events';
import { background, type Logger, silentLogger, sleep, withCancel } from '@kitts/endpoint';
import { InstanceBroadcaster, type Instancer, type InstancerListener } from '@kitts/sd';
import { type BackoffOptions, backoffDelay, TokenBucket } from './backoff.js';
import { type ConsulClient, type RequestContext, toConsulError } from './client.js';
import { type Duration, parseDuration, toConsulDuration } from './duration.js';
import { toInstances } from './mapping.js';

export interface ConsulInstancerOptions {
  /** The service name to watch. */
  service: string;
  /** Only instances carrying every one of these tags. */
  tags?: readonly string[];
  /** Only instances whose checks all pass (Consul's `?passing`). Default true. */
  passingOnly?: boolean;
  /** Query another datacenter than the agent's own. */
  datacenter?: string;
  /** ACL token, sent as `X-Consul-Token` on every query; never logged. */
  token?: string;
  /** How long each blocking query may wait for a change. Default "60s" (Consul caps it at 10m). */
  wait?: Duration;
  /** Retry delays after a failed query (exponential with jitter). Default 100 ms up to 30 s. */
  backoff?: BackoffOptions;
  /**
   * Paces the query loop: `burst` queries at once, then one per `interval` ms while
   * answers keep coming back at once. Default { burst: 2, interval: 1000 }.
   */
  rateLimit?: { burst?: number; interval?: number };
  logger?: Logger;
  /** Random source for backoff jitter; Math.random by default. */
  random?: () => number;
  /** Clock for the rate limiter; Date.now by default. */
  now?: () => number;
}

/**
 * Watches a Consul service through blocking queries on `/v1/health/service/:name`, each
 * carrying the last `X-Consul-Index`. The loop follows HashiCorp's rules for blocking
 * clients: reset to index 0 when the index goes backwards, never block on an index below
 * 1, rate-limit the loop, back off with jitter on errors. An identical answer (a query
 * that timed out, an idempotent write) is not delivered again, and an error keeps the
 * last known set. close() aborts the query in flight.
 *
 * It drives the queries itself through `client.health.service()` with `index`/`wait`
 * rather than `client.watch()`, which stops when a response has no `X-Consul-Index`,
 * treats index 0 as an error and emits the same change twice when the index goes back.
 */
export class ConsulInstancer implements Instancer {
  private readonly broadcaster: InstanceBroadcaster;
  private readonly logger: Logger;
  private readonly query: Record<string, unknown>;
  private readonly extraTags: readonly string[];
  private readonly bucket: TokenBucket;
  private readonly ctx;
  private readonly cancelCtx;
  private readonly request: RequestContext;
  private readonly loopDone: Promise<void>;
  private closed = false;
  private index = 0;
  private settleReady!: () => void;
  /** Resolves once the first query has answered (with a set or an error), or on close. */
  readonly ready: Promise<void> = new Promise((resolve) => {
    this.settleReady = resolve;
  });

  constructor(
    private readonly client: ConsulClient,
    private readonly options: ConsulInstancerOptions,
  ) {
    validate(client, options);
    this.logger = options.logger ?? silentLogger;
    this.broadcaster = new InstanceBroadcaster({ logger: this.logger });
    const tags = options.tags ?? [];
    // Older Consul filters by a single tag only, and prepared queries (which take more)
    // cannot block. Send the first tag and filter the rest here.
    this.extraTags = tags.slice(1);
    const waitMs = parseDuration(options.wait ?? '60s', 'wait');
    if (waitMs > 600_000) throw new TypeError('kitts/sd-consul: wait must be at most 10m (Consul caps it)');
    this.query = {
      service: options.service,
      passing: options.passingOnly ?? true,
      wait: toConsulDuration(options.wait ?? '60s', 'wait'),
      // Consul adds up to wait/16 to spread wake-ups; past that plus a margin the
      // response is lost (a dropped connection, a stuck proxy): give up and re-query.
      timeout: Math.ceil(waitMs + waitMs / 16 + Math.max(1000, waitMs / 10)),
      ...(tags[0] !== undefined ? { tag: tags[0] } : {}),
      ...(options.datacenter !== undefined ? { dc: options.datacenter } : {}),
      ...(options.token !== undefined ? { token: options.token } : {}),
    };
    this.bucket = new TokenBucket(
      options.rateLimit?.burst ?? 2,
      options.rateLimit?.interval ?? 1000,
      options.now ?? Date.now,
    );
    [this.ctx, this.cancelCtx] = withCancel(background());
    this.request = Object.assign(new EventEmitter(), { includeResponse: true as const });
    this.loopDone = this.loop();
  }

  subscribe(listener: InstancerListener): () => void {
    return this.broadcaster.subscribe(listener);
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.cancelCtx();
    this.request.emit('cancel');
    this.settleReady();
    await this.loopDone;
    this.broadcaster.clear();
  }

  private async loop(): Promise<void> {
    let failures = 0;
    while (!this.closed) {
      try {
        for (let wait = this.bucket.take(); wait > 0; wait = this.bucket.take()) await sleep(this.ctx, wait);
        const [res, body] = await this.client.health.service({
          ...this.query,
          ...(this.index > 0 ? { index: String(this.index) } : {}),
          ctx: this.request,
        });
        if (this.closed) return;
        failures = 0;
        this.advance(res?.headers?.['x-consul-index']);
        this.broadcaster.update(toInstances(body, this.extraTags));
        this.settleReady();
      } catch (err) {
        if (this.closed) return;
        failures++;
        const error = toConsulError(err, `health query for "${this.options.service}"`, this.options.token);
        this.logger.warn(
          { err: error, service: this.options.service },
          'kitts/sd-consul: health query failed',
        );
        this.broadcaster.fail(error);
        this.settleReady();
        try {
          await sleep(this.ctx, backoffDelay(failures, this.options.backoff, this.options.random));
        } catch {
          return; // closed while backing off
        }
      }
    }
  }

  /** Applies HashiCorp's index rules to the `X-Consul-Index` of an answer. */
  private advance(header: unknown): void {
    const next = typeof header === 'string' && /^\d+$/.test(header) ? Number(header) : undefined;
    if (next === undefined) {
      // No usable index (a proxy stripped it, or an endpoint that cannot block): poll
      // without blocking; the rate limiter keeps that to one query per interval.
      if (this.index !== 0) this.logger.warn('kitts/sd-consul: response without X-Consul-Index; polling');
      this.index = 0;
    } else if (next === 0) {
      // Index 0 is a Consul bug that busy-loops unaware clients; 1 always blocks safely.
      this.index = 1;
    } else if (next < this.index) {
      // A snapshot restore or a changed index scheme: restart the loop from scratch.
      this.logger.info({ from: this.index, to: next }, 'kitts/sd-consul: index went backwards; resetting');
      this.index = 0;
    } else {
      this.index = next;
    }
  }
}

/** Watch a Consul service; see ConsulInstancer. */
export function consulInstancer(client: ConsulClient, options: ConsulInstancerOptions): ConsulInstancer {
  return new ConsulInstancer(client, options);
}

function validate(client: ConsulClient, options: ConsulInstancerOptions): void {
  if (typeof client?.health?.service !== 'function') {
    throw new TypeError(
      'kitts/sd-consul: client must be a Consul client from npm "consul" (new Consul({ host, port }))',
    );
  }
  if (typeof options?.service !== 'string' || options.service.trim() === '') {
    throw new TypeError('kitts/sd-consul: options.service must be a non-empty service name');
  }
  if (options.tags !== undefined) {
    if (!Array.isArray(options.tags) || options.tags.some((t) => typeof t !== 'string' || t === '')) {
      throw new TypeError('kitts/sd-consul: options.tags must be an array of non-empty strings');
    }
  }
}
