// Helpers for the "nothing secret leaves" tests: a kitts console logger whose lines are
// kept, and a grep that names what it found.
import { inspect } from 'node:util';
import { consoleLogger } from '@kitts/log';
import { expect } from 'chai';

/** A @kitts/log logger at debug level whose logfmt lines are kept in `lines`. */
export function capturedLogger() {
  const lines: string[] = [];
  const keep = (line: string) => {
    lines.push(line);
  };
  const logger = consoleLogger({
    level: 'debug',
    console: { debug: keep, info: keep, warn: keep, error: keep },
  });
  return { lines, logger };
}

/** All an error shows to a logger, a debugger or an error tracker: message, fields, causes. */
export function exposed(err: unknown): string {
  return `${inspect(err, { depth: 10 })}\n${JSON.stringify(err, Object.getOwnPropertyNames(err ?? {}))}`;
}

/** Frames of a stack trace, a source location or a module path. */
export const STACK_TRACE = /\n\s+at |\bat [\w.<>]+ \(|\.[cm]?[jt]s:\d+|node:internal|node_modules|\/src\//;

/** Fails naming the secret and where it was found. */
export function expectNoSecret(where: string, text: string, secrets: readonly string[]): void {
  for (const s of secrets)
    expect(text.includes(s), `${where} contains ${JSON.stringify(s)}:\n${text}`).to.equal(false);
}

/** Fails when `text` carries a stack trace or a source path. */
export function expectNoStack(where: string, text: string): void {
  expect(STACK_TRACE.test(text), `${where} carries a stack trace or source path:\n${text}`).to.equal(false);
}
