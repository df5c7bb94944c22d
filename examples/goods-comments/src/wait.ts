/** Poll until `check()` is true or `timeout` ms pass. */
export async function waitFor(
  check: () => boolean,
  { timeout = 5000, what = 'the registry to settle' } = {},
): Promise<void> {
  const end = Date.now() + timeout;
  while (!check()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}
