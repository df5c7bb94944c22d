import type { Logger } from '@kitts/endpoint';

/** The four levels every kitts Logger has (pino, console, winston, bunyan all do). */
export type Level = 'debug' | 'info' | 'warn' | 'error';

export const LEVELS: readonly Level[] = Object.freeze(['debug', 'info', 'warn', 'error']);

/** A Logger that can say whether a level is on: pino and winston can, console cannot. */
export interface LevelAwareLogger extends Logger {
  isLevelEnabled(level: string): boolean;
}

export function checkLevel(level: unknown, what: string): Level {
  if (typeof level !== 'string' || !LEVELS.includes(level as Level)) {
    throw new TypeError(
      `kitts/log: ${what} must be one of ${LEVELS.join(', ')}, got ${JSON.stringify(level)}`,
    );
  }
  return level as Level;
}

export function isLevelAware(logger: Logger): logger is LevelAwareLogger {
  return typeof (logger as Partial<LevelAwareLogger>).isLevelEnabled === 'function';
}
