// Rendering for the terminal: a table, a bar chart. Plain strings, so tests can read them.

export function table(headers: string[], rows: string[][]): string {
  const widths = headers.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const line = (cells: string[]) => `  ${cells.map((c, i) => c.padEnd(widths[i]!)).join('  │  ')}`;
  const rule = `  ${widths.map((w) => '─'.repeat(w)).join('──┼──')}`;
  return [line(headers), rule, ...rows.map(line)].join('\n');
}

export function bars(counts: Map<string, number>, width = 40): string {
  const max = Math.max(1, ...counts.values());
  const label = Math.max(...[...counts.keys()].map((k) => k.length));
  return [...counts]
    .map(([k, n]) => `  ${k.padEnd(label)}  ${'█'.repeat(Math.round((n / max) * width)).padEnd(width)}  ${n}`)
    .join('\n');
}

export const pct = (x: number) => `${(100 * x).toFixed(1)}%`;
