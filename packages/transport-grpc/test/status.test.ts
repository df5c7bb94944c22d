import { Metadata, status } from '@grpc/grpc-js';
import { CircuitOpenError, DecodeError, RetryError } from '@kitts/endpoint';
import { expect } from 'chai';
import fc from 'fast-check';
import {
  codeFromHttpStatus,
  GrpcError,
  httpStatusOf,
  isRetryableCode,
  statusName,
  statusOf,
} from '../src/index.js';
import { addErrorHeaders } from '../src/status.js';

const ALL_CODES = Array.from({ length: 17 }, (_, i) => i as status);

describe('the status table', () => {
  it('names every code as grpc-js does, and unknown ones by number', () => {
    expect(ALL_CODES.map(statusName)).to.deep.equal(ALL_CODES.map((c) => status[c]));
    expect(statusName(99)).to.equal('CODE_99');
  });

  it('maps the conventional HTTP statuses', () => {
    const want: [number, status][] = [
      [400, status.INVALID_ARGUMENT],
      [401, status.UNAUTHENTICATED],
      [403, status.PERMISSION_DENIED],
      [404, status.NOT_FOUND],
      [408, status.DEADLINE_EXCEEDED],
      [409, status.ALREADY_EXISTS],
      [412, status.FAILED_PRECONDITION],
      [418, status.FAILED_PRECONDITION],
      [429, status.RESOURCE_EXHAUSTED],
      [499, status.CANCELLED],
      [500, status.INTERNAL],
      [501, status.UNIMPLEMENTED],
      [502, status.UNAVAILABLE],
      [503, status.UNAVAILABLE],
      [504, status.DEADLINE_EXCEEDED],
      [507, status.INTERNAL],
      [302, status.UNKNOWN],
    ];
    expect(want.map(([h]) => [h, codeFromHttpStatus(h)])).to.deep.equal(want);
  });

  it('never answers OK for an error, and never leaks the message of an internal-class code', () => {
    fc.assert(
      fc.property(fc.integer({ min: 100, max: 599 }), fc.string({ minLength: 1 }), (statusCode, message) => {
        const have = statusOf(Object.assign(new Error(message), { statusCode }));
        expect(have.code).to.not.equal(status.OK);
        expect(have.code).to.be.within(1, 16);
        if ([status.UNKNOWN, status.INTERNAL, status.DATA_LOSS].includes(have.code)) {
          expect(have.details).to.equal('internal error');
        } else {
          expect(have.details).to.equal(message);
        }
      }),
    );
  });

  it('keeps the client-error class: a 4xx never becomes a retryable code', () => {
    fc.assert(
      fc.property(fc.integer({ min: 400, max: 499 }), (h) => {
        const retryable = isRetryableCode(codeFromHttpStatus(h), true);
        // 408 and 429 are the client errors HTTP clients retry too.
        expect(retryable).to.equal(h === 408 || h === 429);
      }),
    );
  });

  it('reads a RetryError by its final error, however deeply nested', () => {
    const nested = new RetryError([new Error('x'), new RetryError([new CircuitOpenError()])]);
    expect(statusOf(nested).code).to.equal(status.UNAVAILABLE);
  });

  it('keeps a downstream GrpcError code and details, hiding internal ones', () => {
    expect(statusOf(new GrpcError(status.PERMISSION_DENIED, 'not yours'))).to.deep.equal({
      code: status.PERMISSION_DENIED,
      details: 'not yours',
    });
    expect(statusOf(new GrpcError(status.INTERNAL, 'db: deadlock'))).to.deep.equal({
      code: status.INTERNAL,
      details: 'internal error',
    });
    expect(statusOf(new GrpcError(status.INTERNAL, 'db: deadlock'), true).details).to.equal('db: deadlock');
  });

  it('ignores numeric codes that are not gRPC statuses (a driver error code is no status)', () => {
    expect(statusOf(Object.assign(new Error('dup key'), { code: 11000 })).code).to.equal(status.UNKNOWN);
    expect(statusOf(Object.assign(new Error('x'), { code: 5 })).code).to.equal(status.UNKNOWN);
    expect(statusOf(null).code).to.equal(status.UNKNOWN);
    expect(statusOf(undefined).details).to.equal('internal error');
  });

  it('uses the message of a DecodeError, which names the paths', () => {
    expect(statusOf(new DecodeError('invalid request: name: required'))).to.deep.equal({
      code: status.INVALID_ARGUMENT,
      details: 'invalid request: name: required',
    });
  });

  it('gives every code an HTTP equivalent that keeps 4xx for answers and 5xx for failures', () => {
    expect(ALL_CODES.map(httpStatusOf)).to.deep.equal([
      200, 499, 500, 400, 504, 404, 409, 403, 429, 400, 409, 400, 501, 500, 503, 500, 401,
    ]);
    expect(httpStatusOf(42)).to.equal(500);
  });

  it('classifies retryable codes, DEADLINE_EXCEEDED and ABORTED only when idempotent', () => {
    const plain = ALL_CODES.filter((c) => isRetryableCode(c)).map(statusName);
    const idempotent = ALL_CODES.filter((c) => isRetryableCode(c, true)).map(statusName);
    expect(plain).to.deep.equal(['RESOURCE_EXHAUSTED', 'UNAVAILABLE']);
    expect(idempotent).to.deep.equal(['DEADLINE_EXCEEDED', 'RESOURCE_EXHAUSTED', 'ABORTED', 'UNAVAILABLE']);
  });

  it("carries an error's headers as trailers, skipping what gRPC reserves or cannot carry", () => {
    const err = Object.assign(new Error('x'), {
      headers: {
        'Retry-After': '3',
        'x-multi': ['a', 'b'],
        'grpc-status': '0',
        ':path': '/x',
        'bad key!': 'v',
        'x-bin': 'v',
        'x-newline': 'a\nb',
      },
    });
    const md = addErrorHeaders(err, undefined)!;
    expect(Object.keys(md.toJSON())).to.deep.equal(['retry-after', 'x-multi']);
    expect(md.get('x-multi')).to.deep.equal(['a', 'b']);
    expect(addErrorHeaders(new Error('no headers'), undefined)).to.equal(undefined);
    const given = new Metadata();
    expect(addErrorHeaders(new Error('none'), given)).to.equal(given);
  });
});
