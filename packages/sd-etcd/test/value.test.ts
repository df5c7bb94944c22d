import { expect } from 'chai';
import fc from 'fast-check';
import { decodeInstance, encodeInstance } from '../src/index.js';

describe('etcd values', () => {
  it('decode what the registrar encodes, for any instance', () => {
    const text = fc.string({ minLength: 1 }).filter((s) => s.trim() === s && s !== '');
    const instance = fc.record(
      {
        id: text,
        address: text,
        weight: fc.double({ min: 0, max: 1e6, noNaN: true }),
        tags: fc.array(fc.string()),
        meta: fc.dictionary(fc.string(), fc.string()),
      },
      { requiredKeys: ['id', 'address'] },
    );
    fc.assert(
      fc.property(instance, (want) => {
        const have = decodeInstance(encodeInstance(want), 'ignored');
        expect(have).to.deep.equal(JSON.parse(JSON.stringify(want)));
      }),
    );
  });

  it('read a plain host:port as go-kit wrote it, with the key suffix as id', () => {
    expect(decodeInstance(' 10.0.0.1:80\n', 'k1')).to.deep.equal({ id: 'k1', address: '10.0.0.1:80' });
  });

  it('read a bracketed IPv6 address as an address', () => {
    expect(decodeInstance('[::1]:80', 'k')).to.deep.equal({ id: 'k', address: '[::1]:80' });
  });

  it('take the id from the key suffix when the JSON has none', () => {
    expect(decodeInstance('{"address":"h:1"}', 'k2')).to.deep.equal({ id: 'k2', address: 'h:1' });
  });

  it('turn every malformed value into an Error that names the problem', () => {
    const cases: [string, RegExp][] = [
      ['', /empty/],
      ['{"address":', /invalid JSON/],
      ['{"address":"h:1","id":7}', /id/],
      ['{"id":"a"}', /address/],
      ['{"address":"h:1","weight":-1}', /weight/],
      ['{"address":"h:1","weight":"3"}', /weight/],
      ['{"address":"h:1","tags":[1]}', /tags/],
      ['{"address":"h:1","meta":{"a":1}}', /meta/],
      ['two words', /not an address/],
    ];
    for (const [value, want] of cases) {
      const have = decodeInstance(value, 'k');
      expect(have, value).to.be.instanceOf(Error);
      expect((have as Error).message, value).to.match(want);
    }
  });
});
