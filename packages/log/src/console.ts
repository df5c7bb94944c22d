import { checkLevel, LEVELS, type Level, type LevelAwareLogger } from './levels.js';

type Sink = Pick<Console, Level>;

export interface ConsoleLoggerOptions {
  /** Lines below this level are dropped, and `isLevelEnabled` says so. Default `info`. */
  level?: Level;
  /** Where lines go; the global console by default. */
  console?: Sink;
}

/**
 * A Logger on the console that writes logfmt lines, go-kit's format
 * (`level=info msg="comments.get ok" method=comments.get host=127.0.0.1 port=13312`),
 * and has a level, so `logging()` costs nothing for the levels it drops.
 */
export function consoleLogger(options: ConsoleLoggerOptions = {}): LevelAwareLogger {
  const threshold = LEVELS.indexOf(checkLevel(options.level ?? 'info', 'level'));
  const sink = options.console ?? console;
  const at =
    (level: Level) =>
    (...args: unknown[]): void => {
      if (LEVELS.indexOf(level) < threshold) return;
      sink[level](logfmt(level, args));
    };
  return {
    debug: at('debug'),
    info: at('info'),
    warn: at('warn'),
    error: at('error'),
    isLevelEnabled: (level: string) => {
      const i = LEVELS.indexOf(level as Level);
      return i >= 0 && i >= threshold;
    },
  };
}

/** pino's call shapes, `(fields, msg)`, `(msg)` and `(err, msg)`, as one logfmt line. */
export function logfmt(level: string, args: readonly unknown[]): string {
  let fields: Record<string, unknown> | undefined;
  let rest = args;
  const first = args[0];
  if (first instanceof Error) {
    fields = { err: first };
    rest = args.slice(1);
  } else if (typeof first === 'object' && first !== null) {
    fields = first as Record<string, unknown>;
    rest = args.slice(1);
  }
  const parts = [`level=${level}`];
  if (rest.length > 0) parts.push(`msg=${quote(rest.map(String).join(' '))}`);
  if (fields !== undefined) {
    for (const [k, v] of Object.entries(fields)) if (v !== undefined) parts.push(`${k}=${formatValue(v)}`);
  }
  return parts.join(' ');
}

function formatValue(v: unknown): string {
  if (v instanceof Error) return quote(v.message);
  if (typeof v === 'string') return quote(v);
  if (typeof v === 'object' && v !== null) {
    try {
      return quote(JSON.stringify(v));
    } catch {
      return quote(String(v));
    }
  }
  return String(v);
}

function quote(s: string): string {
  return /^[^\s"=\\]+$/.test(s) ? s : JSON.stringify(s);
}
