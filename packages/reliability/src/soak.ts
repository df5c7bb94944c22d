/**
 * `npm run soak -- --duration 300`: the long soak. Prints each scenario's table as it
 * finishes, writes them all into docs/reliability.md (between its soak markers) with the
 * command that produced them, and exits 1 when a goal was missed.
 *
 *   --duration <s>   seconds of timed load (default 300); the etcd outage adds 10 s
 *   --short          the short counts that `npm test` uses (1,600 + 210 bad inputs, 50 leak cycles)
 *   --only a,b       only these scenarios (churn-http, outage, sick, churn-grpc, bad-input, leaks)
 *   --no-write       do not touch docs/reliability.md
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { availableParallelism, loadavg } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { REPO_ROOT } from './echo.js';
import { missedGoals, type ScenarioReport, toMarkdown } from './report.js';
import { plan, runSoak, SCENARIOS, type ScenarioName } from './run.js';

const BEGIN = '<!-- soak:begin -->';
const END = '<!-- soak:end -->';

function usage(message: string): never {
  process.stderr.write(
    `soak: ${message}\nusage: npm run soak -- [--duration 300] [--short] [--only a,b] [--no-write]\n`,
  );
  process.exit(2);
}

async function main(): Promise<void> {
  let args: ReturnType<typeof parse>;
  try {
    args = parse();
  } catch (err) {
    usage((err as Error).message);
  }
  const duration = Number(args.values.duration ?? '300');
  const counts = args.values.short === true ? 'short' : 'long';
  const only = (args.values.only?.split(',').map((s) => s.trim()) ?? SCENARIOS) as ScenarioName[];
  for (const name of only)
    if (!SCENARIOS.includes(name)) usage(`unknown scenario ${name}; known: ${SCENARIOS.join(', ')}`);
  let p: ReturnType<typeof plan>;
  try {
    p = plan(duration, counts);
  } catch (err) {
    usage((err as Error).message);
  }
  const command = ['npm run soak --', ...process.argv.slice(2)].join(' ');
  const started = new Date();
  const t0 = Date.now();
  const reports: ScenarioReport[] = await runSoak(p, {
    only,
    log: (line) => process.stderr.write(`${line}\n`),
    onReport: (r) => process.stdout.write(`\n${toMarkdown([r])}`),
  });
  const took = (Date.now() - t0) / 1000;
  const missed = missedGoals(reports);
  const soft = missedGoals(reports, { soft: true }).filter((m) => !missed.includes(m));

  if (args.values['no-write'] !== true) {
    const file = join(REPO_ROOT, 'docs', 'reliability.md');
    const doc = readFileSync(file, 'utf8');
    const a = doc.indexOf(BEGIN);
    const b = doc.indexOf(END);
    if (a < 0 || b < a) throw new Error(`soak: ${file} has no ${BEGIN} ... ${END} section`);
    const section = [
      BEGIN,
      '',
      `Produced by \`${command}\` on ${started.toISOString().slice(0, 10)} in ${Math.round(took)} s: ` +
        `Node ${process.version}, ${availableParallelism()} CPUs shared with other work ` +
        `(load average ${loadavg()[0]!.toFixed(1)} at the end). ` +
        (missed.length === 0 ? 'Every goal-0 figure was 0.' : `Missed: ${missed.join('; ')}.`) +
        (soft.length === 0 ? '' : ` Soft goals missed: ${soft.join('; ')}.`),
      '',
      toMarkdown(reports).trimEnd(),
      '',
      END,
    ].join('\n');
    writeFileSync(file, doc.slice(0, a) + section + doc.slice(b + END.length));
    process.stderr.write(`soak: wrote ${file}\n`);
  }
  if (soft.length > 0) process.stderr.write(`soak: soft goals missed:\n  ${soft.join('\n  ')}\n`);
  if (missed.length > 0) {
    process.stderr.write(`soak: goals missed:\n  ${missed.join('\n  ')}\n`);
    process.exit(1);
  }
  process.stderr.write(`soak: every goal met in ${took.toFixed(0)} s\n`);
  process.exit(0);
}

function parse() {
  return parseArgs({
    options: {
      duration: { type: 'string' },
      short: { type: 'boolean' },
      only: { type: 'string' },
      'no-write': { type: 'boolean' },
    },
    strict: true,
  });
}

main().catch((err: unknown) => {
  process.stderr.write(`soak: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
  process.exit(1);
});
