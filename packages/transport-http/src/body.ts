import type { Readable } from 'node:stream';
import { CanceledError, KittsError } from '@kitts/endpoint';

/** The default largest request body the decoders accept: 1 MiB. */
export const DEFAULT_LIMIT = 1024 * 1024;

/**
 * Read a whole body, up to `limit` bytes. Past the limit it rejects with `tooLarge()` and
 * stops keeping chunks (the rest flows past unbuffered until the socket closes); a
 * stream that errors or closes before its end rejects with a CanceledError. Every
 * listener is removed once the promise settles, so a later abort emits nothing.
 * One read at a time per stream.
 */
export function readBody(
  stream: Readable,
  limit: number,
  tooLarge: (limit: number) => Error,
  declaredLength?: number,
): Promise<Buffer> {
  if (declaredLength !== undefined && declaredLength > limit) return Promise.reject(tooLarge(limit));
  if (stream.readableEnded) {
    // Someone read it first; waiting for 'end' would hang forever.
    return Promise.reject(
      new KittsError('BODY_CONSUMED', 'the request body was already read (did a body parser run first?)'),
    );
  }
  if (stream.destroyed) return Promise.reject(new CanceledError('the peer closed the connection'));
  const state: ReadState = {
    limit,
    tooLarge,
    size: 0,
    first: undefined,
    more: undefined,
    resolve: noop,
    reject: noop,
  };
  const done = new Promise<Buffer>(capture);
  state.resolve = captured.resolve;
  state.reject = captured.reject;
  (stream as Reading)[STATE] = state;
  // Shared listeners that find their state on the stream: no closures per request.
  stream.on('data', onData);
  stream.on('end', onEnd);
  stream.on('error', onError);
  stream.on('close', onClose);
  return done;
}

const STATE = Symbol('kitts.readBody');

interface ReadState {
  limit: number;
  tooLarge: (limit: number) => Error;
  size: number;
  first: Buffer | undefined;
  more: Buffer[] | undefined;
  resolve: (b: Buffer) => void;
  reject: (e: Error) => void;
}

type Reading = Readable & { [STATE]?: ReadState | undefined };

const noop = () => {};
const captured: { resolve: (b: Buffer) => void; reject: (e: Error) => void } = {
  resolve: noop,
  reject: noop,
};
// The executor runs synchronously inside `new Promise`, so a module-level slot is safe.
function capture(resolve: (b: Buffer) => void, reject: (e: Error) => void): void {
  captured.resolve = resolve;
  captured.reject = reject;
}

function finish(stream: Reading): ReadState {
  const state = stream[STATE]!;
  stream[STATE] = undefined;
  stream.off('data', onData);
  stream.off('end', onEnd);
  stream.off('error', onError);
  stream.off('close', onClose);
  return state;
}

function onData(this: Reading, chunk: Buffer): void {
  const state = this[STATE]!;
  state.size += chunk.length;
  if (state.size > state.limit) {
    finish(this);
    state.first = state.more = undefined;
    state.reject(state.tooLarge(state.limit));
    return;
  }
  if (state.first === undefined) state.first = chunk;
  else (state.more ??= [state.first]).push(chunk);
}

function onEnd(this: Reading): void {
  const state = finish(this);
  state.resolve(state.more !== undefined ? Buffer.concat(state.more, state.size) : (state.first ?? EMPTY));
}

function onError(this: Reading, err: Error): void {
  finish(this).reject(new CanceledError('the peer aborted the body', { cause: err }));
}

function onClose(this: Reading): void {
  finish(this).reject(new CanceledError('the peer closed the connection before the body ended'));
}

const EMPTY = Buffer.alloc(0);

/** A non-negative integer content-length header, else undefined. */
export function declaredLength(value: string | string[] | undefined): number | undefined {
  if (typeof value !== 'string') return undefined;
  const n = Number(value);
  return Number.isSafeInteger(n) && n >= 0 ? n : undefined;
}
