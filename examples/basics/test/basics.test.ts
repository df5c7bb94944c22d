import { expect } from 'chai';
import { main } from '../src/main.js';

describe('example: basics', () => {
  it('logs a priced book and a slow call cut off by its 50 ms timeout', async () => {
    const lines = await main(() => {});
    expect(lines[0]).to.match(/^\[r1\] price\(book\) = 400 in \d+ ms$/);
    expect(lines[1]).to.equal('[r2] price(slow) failed: context deadline exceeded');
  });
});
