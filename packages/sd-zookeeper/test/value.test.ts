import { expect } from 'chai';
import fc from 'fast-check';
import { decodeInstance, encodeInstance } from '../src/index.js';

describe('ZooKeeper node data', () => {
  it('decodes what the registrar encodes, for any instance', () => {
    const text = fc.string({ minLength: 1 }).filter((s) => s.trim() === s);
    fc.assert(
      fc.property(
        fc.record({ id: text, address: text, weight: fc.nat(), tags: fc.array(fc.string()) }),
        (want) => {
          expect(decodeInstance(encodeInstance(want))).to.deep.equal(want);
        },
      ),
    );
  });

  it("reads go-kit's plain host:port data with the address as id (node names change per session)", () => {
    expect(decodeInstance('10.0.0.1:80')).to.deep.equal({ id: '10.0.0.1:80', address: '10.0.0.1:80' });
  });

  it('takes the address as id when JSON data has none', () => {
    expect(decodeInstance('{"address":"h:1","weight":2}')).to.deep.equal({
      id: 'h:1',
      address: 'h:1',
      weight: 2,
    });
  });

  it('turns malformed data into an Error naming the problem', () => {
    for (const [data, want] of [
      ['', /empty/],
      ['{"address":', /invalid JSON/],
      ['{"id":"a"}', /address/],
      ['{"address":"h:1","tags":"x"}', /tags/],
      ['a b', /not an address/],
    ] as const) {
      const have = decodeInstance(data);
      expect(have, data).to.be.instanceOf(Error);
      expect((have as Error).message, data).to.match(want);
    }
  });
});
