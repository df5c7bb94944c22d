/**
 * What a scenario reports: rows of figures, some of them with a goal that is checked.
 * A run fails when any checked goal is missed ("goal 0" figures above 0, shares above
 * their limit); the rows render as the markdown tables of docs/reliability.md.
 */

export type Goal = { kind: 'zero' } | { kind: 'below'; limit: number; unit?: string } | { kind: 'true' };

export interface Row {
  figure: string;
  value: string;
  goal?: string;
  ok?: boolean;
  /** A missed soft goal is reported but does not fail the run (a figure noisy on a shared machine). */
  soft?: boolean;
}

export interface ScenarioReport {
  id: string;
  title: string;
  rows: Row[];
  /** A side-by-side table (first row is the header). */
  table?: string[][];
  notes: string[];
}

export class Reporter {
  readonly rows: Row[] = [];
  readonly notes: string[] = [];
  table: string[][] | undefined;

  constructor(
    readonly id: string,
    readonly title: string,
  ) {}

  /** A figure without a goal. */
  info(figure: string, value: number | string, unit = ''): void {
    this.rows.push({ figure, value: show(value, unit) });
  }

  /** A figure whose goal is 0. */
  zero(figure: string, value: number): void {
    this.rows.push({ figure, value: show(value, ''), goal: '0', ok: value === 0 });
  }

  /** A figure that must stay below `limit`; a soft goal is reported without failing the run. */
  below(figure: string, value: number, limit: number, unit = '', { soft = false } = {}): void {
    this.rows.push({
      figure,
      value: show(value, unit),
      goal: `< ${show(limit, unit)}`,
      ok: Number.isFinite(value) && value < limit,
      ...(soft ? { soft } : {}),
    });
  }

  note(text: string): void {
    this.notes.push(text);
  }

  report(): ScenarioReport {
    return {
      id: this.id,
      title: this.title,
      rows: this.rows,
      notes: this.notes,
      ...(this.table === undefined ? {} : { table: this.table }),
    };
  }
}

function show(value: number | string, unit: string): string {
  if (typeof value === 'string') return value;
  if (!Number.isFinite(value)) return 'n/a';
  const n = Number.isInteger(value) ? value.toLocaleString('en-US') : value.toFixed(value < 10 ? 2 : 1);
  return unit === '' ? n : unit === '%' ? `${n}%` : `${n} ${unit}`;
}

/** The goals a run missed, as `scenario: figure = value (goal)`; soft ones only when asked. */
export function missedGoals(reports: readonly ScenarioReport[], { soft = false } = {}): string[] {
  const out: string[] = [];
  for (const r of reports) {
    for (const row of r.rows) {
      if (row.ok === false && (soft || row.soft !== true)) {
        out.push(`${r.title}: ${row.figure} = ${row.value} (goal ${row.goal}${row.soft ? ', soft' : ''})`);
      }
    }
  }
  return out;
}

/** One markdown section per scenario: a table of figures, then its notes. */
export function toMarkdown(reports: readonly ScenarioReport[]): string {
  const parts: string[] = [];
  for (const r of reports) {
    parts.push(`### ${r.title}`, '');
    parts.push('| figure | value | goal |', '| --- | ---: | :---: |');
    for (const row of r.rows) {
      const goal = row.goal === undefined ? '' : `${row.goal} ${row.ok ? '✓' : row.soft ? '✗ (soft)' : '✗'}`;
      parts.push(`| ${row.figure} | ${row.value} | ${goal} |`);
    }
    parts.push('');
    if (r.table !== undefined && r.table.length > 0) {
      const [head, ...body] = r.table;
      parts.push(`| ${head!.join(' | ')} |`, `| --- |${' ---: |'.repeat(head!.length - 1)}`);
      for (const line of body) parts.push(`| ${line.join(' | ')} |`);
      parts.push('');
    }
    for (const n of r.notes) parts.push(`${n}`, '');
  }
  return parts.join('\n');
}

/** Summary statistics of a list of durations (ms) as `median (min-max), n`. */
export function spread(values: readonly number[], unit = 'ms'): string {
  if (values.length === 0) return 'n/a';
  const sorted = [...values].sort((a, b) => a - b);
  const median = sorted[Math.floor((sorted.length - 1) / 2)]!;
  const r = (x: number) => Math.round(x).toLocaleString('en-US');
  return `${r(median)} ${unit} (${r(sorted[0]!)}-${r(sorted[sorted.length - 1]!)}, n=${sorted.length})`;
}
