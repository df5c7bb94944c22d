/** Sleeps `ms` (nothing for ms <= 0). */
export function pause(ms: number): Promise<void> {
  return ms > 0 ? new Promise((r) => setTimeout(r, ms)) : Promise.resolve();
}

/** Polls `check` every 20 ms until it holds; rejects naming `what` after `timeout` ms. */
export async function waitUntil(check: () => boolean, timeout: number, what: string): Promise<void> {
  const end = Date.now() + timeout;
  while (!check()) {
    if (Date.now() > end) throw new Error(`reliability: timed out after ${timeout} ms waiting for ${what}`);
    await pause(20);
  }
}
