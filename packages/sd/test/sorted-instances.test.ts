import { expect } from 'chai';
import fc from 'fast-check';
import { compareById, type Instance, SortedInstances } from '../src/index.js';

describe('SortedInstances', () => {
  it('stays equal to a full sort through any sequence of inserts and removals', () => {
    const op = fc.oneof(
      fc.record({ kind: fc.constant('insert' as const), id: fc.constantFrom('a', 'b', 'c', 'd', 'e') }),
      fc.record({ kind: fc.constant('remove' as const), index: fc.nat() }),
    );
    fc.assert(
      fc.property(
        fc.array(fc.constantFrom('a', 'c', 'e')),
        fc.array(op, { maxLength: 40 }),
        (initial, ops) => {
          const set = new SortedInstances();
          let model: Instance[] = initial.map((id, i) => ({ id, address: `h:${i}` }));
          set.reset(model);
          let n = 0;
          for (const o of ops) {
            if (o.kind === 'insert') {
              const inst = { id: o.id, address: `n:${n++}` };
              set.insert(inst);
              model.push(inst);
            } else if (model.length > 0) {
              const victim = model[o.index % model.length]!;
              set.remove(victim);
              model = model.filter((m) => m !== victim);
            }
            const have = set.snapshot();
            expect(have.map((i) => i.id)).to.deep.equal([...model].sort(compareById).map((i) => i.id));
            expect(have).to.have.members(model); // the very objects (===), none lost
          }
        },
      ),
    );
  });

  it('removes the given object, not another with the same id', () => {
    const set = new SortedInstances();
    const first = { id: 'x', address: 'h:1' };
    const second = { id: 'x', address: 'h:2' };
    set.reset([first, second]);
    set.remove(second);
    expect(set.snapshot()).to.deep.equal([first]);
  });
});
