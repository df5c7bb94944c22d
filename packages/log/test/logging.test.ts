import {
  background,
  CircuitOpenError,
  DeadlineExceededError,
  type Endpoint,
  type Failer,
  withValue,
} from '@kitts/endpoint';
import { Endpointer, FixedInstancer, instanceKey } from '@kitts/sd';
import { expect } from 'chai';
import { pino } from 'pino';
import { type Logger, logging } from '../src/index.js';

/** A pino logger writing JSON lines into an array, as it would to stdout. */
function captured(level = 'info') {
  const lines: Record<string, unknown>[] = [];
  const logger = pino(
    { level, base: undefined, timestamp: false },
    { write: (s: string) => lines.push(JSON.parse(s)) },
  );
  return { logger, lines };
}

/** A clock that advances by `step` ms per read, and counts its reads. */
function stepClock(step: number) {
  const clock = {
    t: 0,
    reads: 0,
    now: () => {
      clock.reads++;
      return (clock.t += step);
    },
  };
  return clock;
}

interface Comments extends Failer {
  count: number;
}
const comments = (count: number, err?: Error): Comments => ({ count, failed: () => err });
class NotFound extends Error {
  readonly code = 'NOT_FOUND';
}

describe('logging', () => {
  it('logs method, the chosen instance, duration and outcome to pino, with fields and a message', async () => {
    const { logger, lines } = captured();
    const clock = stepClock(2.5);
    const e = logging<{ id: number }, Comments>(logger, {
      method: 'comments.get',
      fields: (_ctx, req) => ({ goodId: req.id }),
      message: (ev) =>
        `get good ${ev.request.id} comment from comment service host:${ev.instance?.address.split(':')[0]} port ${ev.instance?.address.split(':')[1]}`,
      now: clock.now,
    })(async () => comments(3));
    // What a balancer does before calling the entry it picked.
    const ctx = withValue(background(), instanceKey, { id: 'c1', address: '127.0.0.1:13312' });
    const res = await e(ctx, { id: 1 });

    expect(res.count).to.equal(3);
    expect(lines).to.deep.equal([
      {
        level: 30,
        method: 'comments.get',
        outcome: 'ok',
        durationMs: 2.5,
        instance: '127.0.0.1:13312',
        instanceId: 'c1',
        host: '127.0.0.1',
        port: 13312,
        goodId: 1,
        msg: 'get good 1 comment from comment service host:127.0.0.1 port 13312',
      },
    ]);
  });

  it('logs a failure at the error level with the error serialized by pino, and rethrows it', async () => {
    const { logger, lines } = captured();
    const boom = new DeadlineExceededError();
    const e = logging(logger, { method: 'm', now: stepClock(1).now })(async () => {
      throw boom;
    });
    const have = await e(background(), 1).catch((x: unknown) => x);
    expect(have).to.equal(boom);
    expect(lines).to.have.length(1);
    const line = lines[0]!;
    expect(line).to.include({
      level: 50,
      method: 'm',
      outcome: 'error',
      code: 'DEADLINE_EXCEEDED',
      durationMs: 1,
    });
    expect(line.msg).to.equal('m failed: context deadline exceeded');
    expect(line.err).to.include({ type: 'DeadlineExceededError', message: 'context deadline exceeded' });
  });

  it('tells rejections and business errors apart from failures', async () => {
    const { logger, lines } = captured();
    const rejected = logging(logger, { method: 'r', errorLevel: 'warn' })(async () => {
      throw new CircuitOpenError();
    });
    await rejected(background(), 1).catch(() => {});
    const business = logging(logger, { method: 'b' })(async () => comments(0, new NotFound('no such good')));
    const res = await business(background(), 1);
    expect(res.failed()).to.be.instanceOf(NotFound);

    expect(lines.map((l) => [l.level, l.outcome, l.code, l.msg])).to.deep.equal([
      [40, 'rejected', 'CIRCUIT_OPEN', 'r rejected: circuit breaker is open'],
      [30, 'business_error', 'NOT_FOUND', 'b business error: no such good'],
    ]);
  });

  it('goes straight through without reading the clock when pino has both levels off', async () => {
    const { logger, lines } = captured('fatal');
    const clock = stepClock(1);
    const e = logging(logger, { now: clock.now })(async (_ctx, n: number) => n * 2);
    expect(await e(background(), 21)).to.equal(42);
    await e(background(), 1);
    expect(clock.reads).to.equal(0);
    expect(lines).to.deep.equal([]);
  });

  it('logs only failures when only the error level is on', async () => {
    const { logger, lines } = captured('warn');
    let fail = false;
    const e = logging(logger, { level: 'info', errorLevel: 'error' })(async () => {
      if (fail) throw new Error('down');
      return 'ok';
    });
    await e(background(), 1);
    fail = true;
    await e(background(), 1).catch(() => {});
    expect(lines.map((l) => l.outcome)).to.deep.equal(['error']);
  });

  it('logs only successes when their level is the higher one and the only one on', async () => {
    const { logger, lines } = captured('warn');
    let fail = false;
    const e = logging(logger, { level: 'warn', errorLevel: 'info' })(async () => {
      if (fail) throw new Error('down');
      return 'ok';
    });
    await e(background(), 1);
    fail = true;
    await e(background(), 1).catch(() => {});
    expect(lines.map((l) => [l.level, l.outcome])).to.deep.equal([[40, 'ok']]);
  });

  it("follows pino's level when it changes after the middleware was built", async () => {
    const { logger, lines } = captured('info');
    const e = logging(logger, { level: 'debug' })(async () => 'ok');
    await e(background(), 1);
    logger.level = 'debug';
    await e(background(), 1);
    expect(lines.map((l) => l.level)).to.deep.equal([20]);
  });

  it('works with console, which has no levels to ask', async () => {
    const seen: unknown[][] = [];
    const fakeConsole: Logger = {
      debug: (...a) => seen.push(['debug', ...a]),
      info: (...a) => seen.push(['info', ...a]),
      warn: (...a) => seen.push(['warn', ...a]),
      error: (...a) => seen.push(['error', ...a]),
    };
    // console itself type-checks as a Logger.
    const real: Logger = console;
    expect(real).to.equal(console);
    const e = logging(fakeConsole, { method: 'c', now: stepClock(1).now, fields: { zone: 'eu' } })(
      async () => 1,
    );
    await e(background(), 1);
    expect(seen).to.deep.equal([['info', { method: 'c', outcome: 'ok', durationMs: 1, zone: 'eu' }, 'c ok']]);
  });

  it('names the instance each attempt went to when logging sits under a balancer', async () => {
    const { logger, lines } = captured();
    const endpointer = new Endpointer(new FixedInstancer(['10.0.0.1:80', '10.0.0.2:80']), (instance) =>
      logging(logger, { method: 'get' })(async () => instance.address),
    );
    // A two-line round robin standing in for @kitts/lb: it marks the context, then calls.
    let i = 0;
    const balanced: Endpoint<number, string> = (ctx, req) => {
      const entry = endpointer.current().entries[i++ % 2]!;
      return entry.endpoint(withValue(ctx, instanceKey, entry.instance), req) as Promise<string>;
    };
    await balanced(background(), 1);
    await balanced(background(), 2);
    expect(lines.map((l) => l.instance)).to.deep.equal(['10.0.0.1:80', '10.0.0.2:80']);
    expect(lines.map((l) => l.msg)).to.deep.equal(['get ok (10.0.0.1:80)', 'get ok (10.0.0.2:80)']);
    await endpointer.close();
  });

  it('never changes the result when fields() or the logger throws', async () => {
    const throwing: Logger = {
      debug() {},
      info() {
        throw new Error('disk full');
      },
      warn() {},
      error() {},
    };
    const a = logging(throwing)(async () => 'ok');
    expect(await a(background(), 1)).to.equal('ok');
    const { logger } = captured();
    const b = logging(logger, {
      fields: () => {
        throw new Error('bad fields');
      },
    })(async () => 'ok');
    expect(await b(background(), 1)).to.equal('ok');
  });

  it('rejects bad arguments with errors that name the problem', () => {
    const { logger } = captured();
    expect(() => logging({} as Logger)).to.throw(/needs a Logger/);
    expect(() => logging(logger, { level: 'loud' as never })).to.throw(
      /level must be one of debug, info, warn, error/,
    );
    expect(() => logging(logger, { errorLevel: 'trace' as never })).to.throw(/errorLevel must be one of/);
    expect(() => logging(logger, { method: '' })).to.throw(/method must be a non-empty string/);
    expect(() => logging(logger, { fields: 3 as never })).to.throw(/fields must be an object or a function/);
  });
});
