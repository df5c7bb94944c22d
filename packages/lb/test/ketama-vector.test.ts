import { createHash } from 'node:crypto';
import { expect } from 'chai';
import { md5LE32 } from '../src/hash.js';
import { ketamaRing } from '../src/ketama.js';
import { ringIndex } from '../src/ring.js';
import { entry } from './fixtures.js';

// libketama's own regression test (libketama/test.sh): run ketama_test over
// ketama.servers and the keys "0".."999999", printing "<key hash> <point> <server>" per
// key after an empty error line; the MD5 of that output is 5672b131391f5aa2b280936aec1eea74.
const SERVERS: [string, number][] = [
  ['10.0.1.1:11211', 600],
  ['10.0.1.2:11211', 300],
  ['10.0.1.3:11211', 200],
  ['10.0.1.4:11211', 350],
  ['10.0.1.5:11211', 1000],
  ['10.0.1.6:11211', 800],
  ['10.0.1.7:11211', 950],
  ['10.0.1.8:11211', 100],
];

describe('ketama continuum against libketama test.sh', function () {
  this.timeout(60_000); // a million MD5s

  it('reproduces the output digest of ketama_test over a million keys', () => {
    const es = SERVERS.map(([address, mem]) => entry(address, { address, weight: mem }));
    const ring = ketamaRing(es, Float64Array.from(SERVERS.map((s) => s[1])));
    const digest = createHash('md5').update('\n');
    let chunk = '';
    for (let k = 0; k < 1_000_000; k++) {
      const kh = md5LE32(String(k));
      const at = ringIndex(ring, kh);
      chunk += `${kh} ${ring.points[at]} ${es[ring.owners[at]!]!.instance.address}\n`;
      if (chunk.length > 1 << 16) {
        digest.update(chunk);
        chunk = '';
      }
    }
    digest.update(chunk);
    expect(digest.digest('hex')).to.equal('5672b131391f5aa2b280936aec1eea74');
  });
});
