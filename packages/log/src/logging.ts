import { businessError, type Context, codeOf, type Endpoint, type Logger } from '@kitts/endpoint';
import { type Instance, instanceKey } from '@kitts/sd';
import { instanceFields } from './instance.js';
import { checkLevel, isLevelAware, LEVELS, type Level } from './levels.js';
import { errorOutcome, type Outcome } from './outcome.js';

/** Everything known about a call once it has ended; what `message` formats. */
export interface LogEvent<Req, Res> {
  readonly ctx: Context;
  readonly method: string;
  readonly request: Req;
  /** Set when the endpoint resolved (also for a business error). */
  readonly response?: Res;
  /** The failure, or the business error of a Failer response. */
  readonly error?: unknown;
  readonly outcome: Outcome;
  readonly durationMs: number;
  /** The instance the call went to, when a balancer put it in the context (`instanceKey`). */
  readonly instance?: Instance;
}

export type Fields<Req> =
  | Readonly<Record<string, unknown>>
  | ((ctx: Context, request: Req) => Record<string, unknown>);

export interface LoggingOptions<Req = unknown, Res = unknown> {
  /** The `method` field: what the endpoint does. Default `call`. */
  method?: string;
  /** Level of successful calls and business errors. Default `info`. */
  level?: Level;
  /** Level of failures and rejections. Default `error`. */
  errorLevel?: Level;
  /** Extra fields, fixed or computed from the request (only when the line is written). */
  fields?: Fields<Req>;
  /** The message; default `<method> ok`, `<method> failed: <error message>`... */
  message?: (event: LogEvent<Req, Res>) => string;
  /** Clock in milliseconds, for durations; performance.now by default. Tests inject one. */
  now?: () => number;
}

/**
 * Log one line per call: method, instance (host and port), duration, outcome, the error,
 * and your fields, as `logger[level](fields, message)` (pino's order; console prints
 * both). When the logger says both levels are off (pino's `isLevelEnabled`), the call
 * goes straight through: no clock read, no allocation.
 */
export function logging<Req = unknown, Res = unknown>(
  logger: Logger,
  options: LoggingOptions<Req, Res> = {},
): <R extends Req, S extends Res>(next: Endpoint<R, S>) => Endpoint<R, S> {
  if (typeof logger?.info !== 'function' || typeof logger.error !== 'function') {
    throw new TypeError('kitts/log: logging() needs a Logger with debug, info, warn and error methods');
  }
  const method = options.method ?? 'call';
  if (typeof method !== 'string' || method === '') {
    throw new TypeError(`kitts/log: method must be a non-empty string, got ${JSON.stringify(method)}`);
  }
  const level = checkLevel(options.level ?? 'info', 'level');
  const errorLevel = checkLevel(options.errorLevel ?? 'error', 'errorLevel');
  const fields = options.fields;
  if (
    fields !== undefined &&
    typeof fields !== 'function' &&
    (typeof fields !== 'object' || fields === null)
  ) {
    throw new TypeError('kitts/log: fields must be an object or a function (ctx, request) => object');
  }
  const message = options.message ?? defaultMessage;
  const now = options.now ?? performance.now.bind(performance);
  const aware = isLevelAware(logger) ? logger : undefined;
  const [low, high] =
    LEVELS.indexOf(level) <= LEVELS.indexOf(errorLevel) ? [level, errorLevel] : [errorLevel, level];

  function write(at: Level, ctx: Context, request: Req, event: LogEvent<Req, Res>): void {
    try {
      const line: Record<string, unknown> = {
        method,
        outcome: event.outcome,
        durationMs: round(event.durationMs),
      };
      if (event.instance !== undefined) Object.assign(line, instanceFields(event.instance));
      if (event.error !== undefined) {
        const code = codeOf(event.error);
        if (code !== undefined) line.code = code;
        line.err = event.error;
      }
      if (fields !== undefined)
        Object.assign(line, typeof fields === 'function' ? fields(ctx, request) : fields);
      // Looked up per line, not bound once: pino swaps its level methods when its level changes.
      logger[at](line, message(event));
    } catch {
      // Logging observes the call; a throwing fields() or a broken stream must not change its result.
    }
  }

  return <R extends Req, S extends Res>(next: Endpoint<R, S>): Endpoint<R, S> =>
    (ctx, request) => {
      if (aware === undefined) return logged(next, ctx, request, true, true);
      // Levels are ordered: when the higher of the two is off, so is the lower. One check
      // then decides the common production case (both off) without asking twice.
      const highOn = aware.isLevelEnabled(high);
      if (!highOn) return next(ctx, request);
      const lowOn = low === high || aware.isLevelEnabled(low);
      return highOn && lowOn
        ? logged(next, ctx, request, true, true)
        : logged(next, ctx, request, high === level, high === errorLevel);
    };

  async function logged<R extends Req, S extends Res>(
    next: Endpoint<R, S>,
    ctx: Context,
    request: R,
    okOn: boolean,
    errOn: boolean,
  ): Promise<S> {
    const start = now();
    let response: S;
    try {
      response = await next(ctx, request);
    } catch (error) {
      if (errOn) {
        const instance = ctx.value(instanceKey);
        const outcome = errorOutcome(error);
        write(errorLevel, ctx, request, {
          ctx,
          method,
          request,
          error,
          outcome,
          durationMs: now() - start,
          instance,
        });
      }
      throw error;
    }
    if (okOn) {
      const error = businessError(response);
      const outcome: Outcome = error === undefined ? 'ok' : 'business_error';
      const instance = ctx.value(instanceKey);
      write(level, ctx, request, {
        ctx,
        method,
        request,
        response,
        error,
        outcome,
        durationMs: now() - start,
        instance,
      });
    }
    return response;
  }
}

function defaultMessage(e: LogEvent<unknown, unknown>): string {
  const to = e.instance === undefined ? '' : ` (${e.instance.address})`;
  switch (e.outcome) {
    case 'ok':
      return `${e.method} ok${to}`;
    case 'business_error':
      return `${e.method} business error${to}: ${messageOf(e.error)}`;
    case 'rejected':
      return `${e.method} rejected${to}: ${messageOf(e.error)}`;
    default:
      return `${e.method} failed${to}: ${messageOf(e.error)}`;
  }
}

function messageOf(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

/** Microsecond precision is plenty in a log line and keeps it short. */
function round(ms: number): number {
  return Math.round(ms * 1000) / 1000;
}
