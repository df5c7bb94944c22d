import { DecodeError } from '@kitts/endpoint';
import { expect } from 'chai';
import * as t from 'io-ts';
import { z } from 'zod';
import { type StandardSchemaV1, schemaDecoder, validate } from '../src/index.js';

const fail = (p: Promise<unknown>) =>
  p.then(
    () => expect.fail('expected a DecodeError'),
    (e: unknown) => e as DecodeError,
  );

describe('schema validation of decoded messages', () => {
  it('names nested and array paths of an io-ts codec, once each', async () => {
    const User = t.type({
      name: t.string,
      address: t.type({ city: t.string }),
      roles: t.array(t.union([t.literal('admin'), t.literal('user')])),
    });
    const err = await fail(validate(User, { name: 1, address: { city: null }, roles: ['user', 'root'] }));
    expect(err).to.be.instanceOf(DecodeError);
    // The same paths and messages as over HTTP (@kitts/endpoint/schema).
    expect(err.issues.map((i) => i.path)).to.deep.equal(['$.name', '$.address.city', '$.roles[1]']);
    expect(err.issues[0]!.message).to.equal('expected string, got 1');
    expect(err.issues[2]!.message).to.equal('expected ("admin" | "user"), got a string of 4 characters');
    expect(err.message).to.match(
      /^invalid request: \$\.name: expected string, got 1; \$\.address\.city: expected string, got null; \$\.roles\[1\]/,
    );
  });

  it('returns the decoded value of an io-ts codec', async () => {
    const N = t.type({ n: t.number });
    expect(await validate(N, { n: 1 })).to.deep.equal({ n: 1 });
  });

  it('names the paths of a Standard Schema (zod), including the root', async () => {
    const S = z.object({ items: z.array(z.object({ qty: z.number().int() })) });
    const err = await fail(validate(S, { items: [{ qty: 1 }, { qty: 1.5 }] }));
    expect(err.issues.map((i) => i.path)).to.deep.equal(['$.items[1].qty']);
    const root = await fail(validate(z.string(), 42));
    expect(root.issues[0]!.path).to.equal('$');
  });

  it('awaits an async Standard Schema and reads { key } path segments', async () => {
    const schema: StandardSchemaV1<unknown, number> = {
      '~standard': {
        version: 1,
        vendor: 'test',
        validate: async (v) =>
          typeof v === 'number'
            ? { value: v }
            : { issues: [{ message: 'want a number', path: [{ key: 'a' }, 0] }] },
      },
    };
    expect(await validate(schema, 3)).to.equal(3);
    const err = await fail(validate(schema, 'x'));
    expect(err.issues).to.deep.equal([{ path: '$.a[0]', message: 'want a number' }]);
  });

  it('refuses things that are not schemas', async () => {
    expect(() => schemaDecoder(undefined as never)).to.throw(TypeError, /io-ts codec or a Standard Schema/);
    // Found when the decoder is built, so a typo fails at start-up rather than per call.
    expect(() => schemaDecoder({ name: 'nope' } as never)).to.throw(
      TypeError,
      /io-ts codec or a Standard Schema/,
    );
  });
});
