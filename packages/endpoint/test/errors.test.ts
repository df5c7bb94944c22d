import { expect } from 'chai';
import {
  CanceledError,
  CircuitOpenError,
  codeOf,
  DeadlineExceededError,
  DecodeError,
  headersOf,
  type KittsError,
  NoEndpointsError,
  RateLimitedError,
  RetryError,
  statusCodeOf,
} from '../src/index.js';

describe('errors', () => {
  it('have stable codes', () => {
    const want: [KittsError, string][] = [
      [new CanceledError(), 'CANCELED'],
      [new DeadlineExceededError(), 'DEADLINE_EXCEEDED'],
      [new NoEndpointsError(), 'NO_ENDPOINTS'],
      [new RetryError([new Error('x')]), 'RETRY_EXHAUSTED'],
      [new CircuitOpenError(), 'CIRCUIT_OPEN'],
      [new RateLimitedError(), 'RATE_LIMITED'],
      [new DecodeError(), 'DECODE'],
    ];
    for (const [err, code] of want) {
      expect(err.code).to.equal(code);
      expect(codeOf(err)).to.equal(code);
      expect(err).to.be.instanceOf(Error);
      expect(err.name).to.equal(err.constructor.name);
    }
  });

  it('RetryError reads "final (previously: e1; e2)" and keeps every error', () => {
    const e1 = new Error('error one');
    const e2 = new Error('error two');
    const e3 = new Error('error three');
    const err = new RetryError([e1, e2, e3]);
    expect(err.message).to.equal('error three (previously: error one; error two)');
    expect(err.final).to.equal(e3);
    expect(err.cause).to.equal(e3);
    expect(err.errors).to.deep.equal([e1, e2, e3]);
    expect(new RetryError([e1]).message).to.equal('error one');
  });

  it('statusCodeOf and headersOf read StatusCoder/Headerer-shaped errors', () => {
    expect(statusCodeOf(new DecodeError())).to.equal(400);
    expect(statusCodeOf(new Error('x'))).to.equal(500);
    expect(statusCodeOf(new Error('x'), 502)).to.equal(502);
    expect(statusCodeOf({ statusCode: 418 })).to.equal(418);
    expect(statusCodeOf({ statusCode: 'nope' })).to.equal(500);
    expect(statusCodeOf({ statusCode: 9999 })).to.equal(500);
    expect(headersOf(new RateLimitedError('slow down', { retryAfter: 1500 }))).to.deep.equal({
      'retry-after': '2',
    });
    expect(headersOf(new Error('x'))).to.equal(undefined);
    expect(new RetryError([new DecodeError()]).statusCode).to.equal(400);
  });

  it('CircuitOpenError carries retryAfter and reason', () => {
    const err = new CircuitOpenError('busy', { reason: 'max-concurrency' });
    expect(err.reason).to.equal('max-concurrency');
    expect(err.retryAfter).to.equal(0);
    expect(new CircuitOpenError(undefined, { retryAfter: 5000 }).retryAfter).to.equal(5000);
  });
});
