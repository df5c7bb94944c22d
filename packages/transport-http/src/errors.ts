/**
 * The errors of the HTTP transport. The client turns every non-2xx answer into an
 * HttpError (go-kit returned it as a success) and every failure to talk to the server
 * into a ConnectionError, and both say whether another attempt may help, so a retry
 * policy needs no knowledge of HTTP.
 */
import { type Headers, KittsError, type KittsErrorOptions } from '@kitts/endpoint';

/** Statuses after which the same request may well succeed on another try or instance. */
const RETRYABLE_STATUS = new Set([429, 502, 503, 504]);

/** The server answered outside 2xx. */
export class HttpError extends KittsError {
  /** The parsed JSON body when it was JSON, else the text (truncated to the read limit). */
  readonly body: unknown;
  /**
   * The upstream's response headers. Not named `headers`: on a kitts error, `headers`
   * means "send these", and a server that rethrows an HttpError must not forward the
   * upstream's content-length or transfer-encoding to its own client.
   */
  readonly responseHeaders: Readonly<Record<string, string | string[] | undefined>>;
  /** True for 429, 502, 503 and 504: another attempt may succeed. */
  readonly retryable: boolean;

  constructor(
    statusCode: number,
    body: unknown,
    responseHeaders: Readonly<Record<string, string | string[] | undefined>>,
    options: KittsErrorOptions = {},
  ) {
    super('HTTP_STATUS', httpErrorMessage(statusCode, body), {
      statusCode,
      ...retryAfter(responseHeaders),
      ...options,
    });
    this.body = body;
    this.responseHeaders = responseHeaders;
    this.retryable = RETRYABLE_STATUS.has(statusCode);
  }
}

/** The request never got an answer: refused, reset, unreachable, or the socket died. */
export class ConnectionError extends KittsError {
  /** Always true: the request did not reach a handler that answered, so try again. */
  readonly retryable = true;

  constructor(message: string, options: KittsErrorOptions = {}) {
    super('CONNECTION', message, { statusCode: 503, ...options });
  }
}

/** True when `err` says another attempt may succeed (an HttpError or ConnectionError that is retryable). */
export function isRetryable(err: unknown): boolean {
  return typeof err === 'object' && err !== null && (err as { retryable?: unknown }).retryable === true;
}

/** A 413: the request body is larger than the decoder accepts. */
export function payloadTooLarge(limit: number): KittsError {
  // `connection: close` so Node drops the socket instead of draining the rest of the upload.
  return new KittsError('PAYLOAD_TOO_LARGE', `request body exceeds the limit of ${limit} bytes`, {
    statusCode: 413,
    headers: { connection: 'close' },
  });
}

/** A 415: the request body is not in a media type the decoder reads. */
export function unsupportedMediaType(message: string): KittsError {
  return new KittsError('UNSUPPORTED_MEDIA_TYPE', message, { statusCode: 415 });
}

function retryAfter(headers: Readonly<Record<string, string | string[] | undefined>>): KittsErrorOptions {
  // Keep Retry-After visible to whoever rethrows the error: it is advice for the caller.
  const v = headers['retry-after'];
  return typeof v === 'string' ? { headers: { 'retry-after': v } satisfies Headers } : {};
}

function httpErrorMessage(statusCode: number, body: unknown): string {
  const detail = errorMessageIn(body);
  return detail === undefined ? `HTTP ${statusCode}` : `HTTP ${statusCode}: ${detail}`;
}

/** The message of a kitts JSON error body (`{ error: { message } }`), or a short text body. */
function errorMessageIn(body: unknown): string | undefined {
  if (typeof body === 'string') return body.length === 0 ? undefined : body.slice(0, 200);
  if (typeof body === 'object' && body !== null) {
    const err = (body as { error?: unknown }).error;
    if (typeof err === 'object' && err !== null) {
      const m = (err as { message?: unknown }).message;
      if (typeof m === 'string') return m;
    }
  }
  return undefined;
}
