/**
 * Leak checks through process.getActiveResourcesInfo(): what keeps the event loop alive.
 * Take a baseline before the code under test, compare after its close().
 */
const IGNORED = new Set(['TTYWrap', 'PipeWrap', 'FSReqCallback', 'Immediate']);

export function activeResources(): Map<string, number> {
  const counts = new Map<string, number>();
  for (const r of process.getActiveResourcesInfo()) {
    if (IGNORED.has(r)) continue;
    counts.set(r, (counts.get(r) ?? 0) + 1);
  }
  return counts;
}

/**
 * A baseline to compare against after close(). Settles first: mocha's own test timer
 * appears only after the first timer tick of a test.
 */
export async function baseline(): Promise<Map<string, number>> {
  await settle(5);
  return activeResources();
}

/** Let pending callbacks (socket closes, cleared timers) run before counting. */
export async function settle(ms = 20): Promise<void> {
  await new Promise((r) => setImmediate(r));
  await new Promise((r) => setTimeout(r, ms));
}

/** Throws when there are more active timers, sockets or servers than in `baseline`. */
export async function assertNoLeaks(baseline: Map<string, number>, { settleMs = 50 } = {}): Promise<void> {
  await settle(settleMs);
  const now = activeResources();
  const extra: string[] = [];
  for (const [kind, n] of now) {
    const before = baseline.get(kind) ?? 0;
    if (n > before) extra.push(`${kind}: ${before} -> ${n}`);
  }
  if (extra.length > 0) throw new Error(`leaked handles: ${extra.join(', ')}`);
}
