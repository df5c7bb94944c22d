import { Endpointer, MemoryRegistry } from '@kitts/sd';
import { expect } from 'chai';
import { Registry } from 'prom-client';
import { observeEndpointer } from '../src/index.js';
import { parse, value } from './scrape.js';

describe('observeEndpointer', () => {
  it('follows the instances of an Endpointer from its change events, and removes its series when stopped', async () => {
    const sd = new MemoryRegistry();
    const endpointer = new Endpointer(sd.instancer('comments'), () => async () => 'ok');
    const registry = new Registry();
    const read = async () =>
      value(parse(await registry.metrics()), 'kitts_sd_instances', { service: 'comments' });
    const a = sd.registrar('comments', { id: 'a', address: '127.0.0.1:1' });
    await a.register();
    const stop = observeEndpointer(endpointer, { service: 'comments', registry });
    expect(await read()).to.equal(1);

    const b = sd.registrar('comments', { id: 'b', address: '127.0.0.1:2' });
    await b.register();
    expect(await read()).to.equal(2);
    await a.deregister();
    expect(await read()).to.equal(1);

    stop();
    stop();
    expect(await read()).to.equal(undefined);
    await b.register(); // no listener left: nothing changes, nothing throws
    await endpointer.close();
    sd.close();
  });

  it('lets several endpointers share the gauge, one series each', async () => {
    const sd = new MemoryRegistry();
    const registry = new Registry();
    await sd.registrar('a', { id: '1', address: 'h:1' }).register();
    const ea = new Endpointer(sd.instancer('a'), () => async () => 0);
    const eb = new Endpointer(sd.instancer('b'), () => async () => 0);
    observeEndpointer(ea, { service: 'a', registry });
    observeEndpointer(eb, { service: 'b', registry });
    const have = parse(await registry.metrics());
    expect(value(have, 'kitts_sd_instances', { service: 'a' })).to.equal(1);
    expect(value(have, 'kitts_sd_instances', { service: 'b' })).to.equal(0);
    await Promise.all([ea.close(), eb.close()]);
    sd.close();
  });

  it('rejects what is not an Endpointer, and a missing service label', () => {
    const registry = new Registry();
    expect(() => observeEndpointer({} as never, { service: 's', registry })).to.throw(/needs an Endpointer/);
    const fake = { current: () => ({ version: 0, entries: [] }), onChange: () => () => {} };
    expect(() => observeEndpointer(fake, { service: '', registry })).to.throw(
      /service must be a non-empty string/,
    );
  });
});
