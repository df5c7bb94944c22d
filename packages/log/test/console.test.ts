import { background } from '@kitts/endpoint';
import { expect } from 'chai';
import fc from 'fast-check';
import { consoleLogger, instanceFields, logfmt, logging } from '../src/index.js';

function sink() {
  const lines: [string, string][] = [];
  const put = (level: string) => (line: string) => lines.push([level, line]);
  return {
    lines,
    console: { debug: put('debug'), info: put('info'), warn: put('warn'), error: put('error') },
  };
}

describe('consoleLogger', () => {
  it('writes logfmt lines at or above its level and says which levels are on', () => {
    const s = sink();
    const log = consoleLogger({ level: 'warn', console: s.console });
    log.info({ a: 1 }, 'dropped');
    log.warn({ method: 'get', host: '127.0.0.1', port: 13312, note: 'two words' }, 'get slow');
    log.error(new Error('boom'), 'failed');
    expect(s.lines).to.deep.equal([
      ['warn', 'level=warn msg="get slow" method=get host=127.0.0.1 port=13312 note="two words"'],
      ['error', 'level=error msg=failed err=boom'],
    ]);
    expect(['debug', 'info', 'warn', 'error', 'nope'].map((l) => log.isLevelEnabled(l))).to.deep.equal([
      false,
      false,
      true,
      true,
      false,
    ]);
  });

  it('makes logging() skip its work for dropped levels', async () => {
    const s = sink();
    let reads = 0;
    const e = logging(consoleLogger({ level: 'error', console: s.console }), {
      errorLevel: 'warn',
      now: () => reads++,
    })(async () => 'ok');
    await e(background(), 1);
    expect(reads).to.equal(0);
    expect(s.lines).to.deep.equal([]);
  });

  it('refuses an unknown level', () => {
    expect(() => consoleLogger({ level: 'verbose' as never })).to.throw(/level must be one of/);
  });

  it('formats values that need quoting, nested objects and a message alone', () => {
    expect(logfmt('info', ['hello world'])).to.equal('level=info msg="hello world"');
    expect(logfmt('info', [{ q: 'say "hi"', o: { x: 1 }, u: undefined, b: true }])).to.equal(
      'level=info q="say \\"hi\\"" o="{\\"x\\":1}" b=true',
    );
  });
});

describe('instanceFields', () => {
  it('splits host and port of any host:port address, IPv6 included (property)', () => {
    const host = fc.oneof(
      fc.ipV4(),
      fc.domain(),
      fc.ipV6().map((h) => `[${h}]`),
    );
    fc.assert(
      fc.property(host, fc.integer({ min: 1, max: 65535 }), (h, port) => {
        const f = instanceFields({ id: `${h}:${port}`, address: `${h}:${port}` });
        const want = h.startsWith('[') ? h.slice(1, -1) : h;
        return f.host === want && f.port === port && f.instance === `${h}:${port}` && !('instanceId' in f);
      }),
    );
  });

  it('keeps a unix socket or a portless address whole', () => {
    expect(instanceFields({ id: 'u', address: 'unix:/run/x.sock' })).to.deep.equal({
      instance: 'unix:/run/x.sock',
      instanceId: 'u',
    });
    expect(instanceFields({ id: 'h', address: 'h' })).to.deep.equal({ instance: 'h' });
  });
});
