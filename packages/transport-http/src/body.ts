import type { Readable } from 'node:stream';
import { CanceledError, KittsError } from '@kitts/endpoint';

/** The default largest request body the decoders accept: 1 MiB. */
export const DEFAULT_LIMIT = 1024 * 1024;

/**
 * Read a whole body, up to `limit` bytes. Past the limit it rejects with `tooLarge()` and
 * stops keeping chunks (the rest flows past unbuffered until the socket closes); a
 * stream that errors or closes before its end rejects with a CanceledError. Every
 * listener is removed once the promise settles, so a later abort emits nothing.
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
  return new Promise<Buffer>((resolve, reject) => {
    let first: Buffer | undefined;
    let more: Buffer[] | undefined;
    let size = 0;
    const cleanup = () => {
      stream.off('data', onData);
      stream.off('end', onEnd);
      stream.off('error', onError);
      stream.off('close', onClose);
    };
    const onData = (chunk: Buffer) => {
      size += chunk.length;
      if (size > limit) {
        cleanup();
        first = more = undefined;
        reject(tooLarge(limit));
        return;
      }
      if (first === undefined) first = chunk;
      else (more ??= [first]).push(chunk);
    };
    const onEnd = () => {
      cleanup();
      resolve(more !== undefined ? Buffer.concat(more, size) : (first ?? EMPTY));
    };
    const onError = (err: Error) => {
      cleanup();
      reject(new CanceledError('the peer aborted the body', { cause: err }));
    };
    const onClose = () => {
      cleanup();
      reject(new CanceledError('the peer closed the connection before the body ended'));
    };
    stream.on('data', onData);
    stream.on('end', onEnd);
    stream.on('error', onError);
    stream.on('close', onClose);
  });
}

const EMPTY = Buffer.alloc(0);

/** A non-negative integer content-length header, else undefined. */
export function declaredLength(value: string | string[] | undefined): number | undefined {
  if (typeof value !== 'string') return undefined;
  const n = Number(value);
  return Number.isSafeInteger(n) && n >= 0 ? n : undefined;
}
