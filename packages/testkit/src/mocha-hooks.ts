// Loaded by .mocharc.json for every run: an unhandled rejection or uncaught exception
// anywhere in the suite fails the run instead of passing silently.
const seen: unknown[] = [];

process.on('unhandledRejection', (reason) => {
  seen.push(reason);
  console.error('unhandled rejection during tests:', reason);
});

export const mochaHooks = {
  afterAll(): void {
    if (seen.length > 0) {
      throw new Error(`${seen.length} unhandled rejection(s) during the suite; first: ${String(seen[0])}`);
    }
  },
};
