import { type OutgoingHttpHeaders, type ServerResponse, STATUS_CODES } from 'node:http';
import { type Context, codeOf, type Headers, headersOf, KittsError, statusCodeOf } from '@kitts/endpoint';

/** Writes an endpoint's response; may write status, headers and body as it likes. */
export type EncodeResponseFunc<Res> = (
  ctx: Context,
  res: ServerResponse,
  response: Res,
) => void | Promise<void>;

/** Writes an error. Called only while no header has been sent. */
export type ErrorEncoder = (ctx: Context, err: unknown, res: ServerResponse) => void;

/** The JSON body of every error kitts writes. */
export interface ErrorBody {
  error: { code: string; message: string; issues?: readonly { path: string; message: string }[] };
}

const JSON_TYPE = 'application/json; charset=utf-8';

/**
 * Encode a response as JSON. The status is the response's `statusCode` (a number
 * property or a method) or 200; a `headers()` method adds headers (go-kit's StatusCoder
 * and Headerer). 204, 304 and 1xx have no body. `undefined` is written as `null`.
 * Methods are not serialised by JSON.stringify; a `statusCode` property is, so prefer
 * a method, or a class with `toJSON`, when it must not appear in the body.
 */
export function encodeJSON(_ctx: Context, res: ServerResponse, response: unknown): void {
  let status = 200;
  if (typeof response === 'object' && response !== null) {
    status = responseStatus(response);
    const headers = (response as { headers?: unknown }).headers;
    if (typeof headers === 'function') setHeaders(res, headers.call(response) as Headers | undefined);
  }
  if (status === 204 || status === 304 || status < 200) {
    res.writeHead(status);
    res.end();
    return;
  }
  // Stringify before writing anything: a failure here must still leave room for a 500.
  const body = JSON.stringify(response === undefined ? null : response);
  res.writeHead(status, { 'content-type': JSON_TYPE, 'content-length': Buffer.byteLength(body) });
  res.end(body);
}

function responseStatus(response: object): number {
  let s = (response as { statusCode?: unknown }).statusCode;
  if (typeof s === 'function') s = s.call(response);
  return typeof s === 'number' && Number.isInteger(s) && s >= 100 && s <= 599 ? s : 200;
}

export interface JSONErrorEncoderOptions {
  /**
   * Send the message of 5xx errors. Off by default: an internal error's message can
   * carry hostnames, queries or secrets, so clients get the status text instead.
   */
  exposeErrors?: boolean;
}

/**
 * The default error encoder: `{ "error": { "code", "message", "issues"? } }` with the
 * error's `statusCode` (500 when it has none) and `headers`.
 */
export function jsonErrorEncoder(options: JSONErrorEncoderOptions = {}): ErrorEncoder {
  const expose = options.exposeErrors === true;
  return (_ctx, err, res) => {
    const status = statusCodeOf(err);
    writeJSONError(res, status, errorBody(err, status, expose), headersOf(err));
  };
}

export const defaultErrorEncoder: ErrorEncoder = jsonErrorEncoder();

/** The body the default encoder writes for `err` at `status`. */
export function errorBody(err: unknown, status: number, expose = false): ErrorBody {
  const hide = status >= 500 && !expose;
  const code =
    err instanceof KittsError ? err.code : ((hide ? undefined : codeOf(err)) ?? statusName(status));
  const message = hide ? (STATUS_CODES[status] ?? 'Error') : messageOf(err);
  const issues = (err as { issues?: unknown } | null)?.issues;
  if (!hide && Array.isArray(issues) && issues.length > 0) {
    return { error: { code, message, issues: issues as ErrorBody['error']['issues'] } };
  }
  return { error: { code, message } };
}

/** Write a JSON error with its status and headers. The caller checks `headersSent` first. */
export function writeJSONError(
  res: ServerResponse,
  status: number,
  body: ErrorBody,
  headers?: Headers,
): void {
  setHeaders(res, headers);
  const text = JSON.stringify(body);
  const head: OutgoingHttpHeaders = { 'content-type': JSON_TYPE, 'content-length': Buffer.byteLength(text) };
  res.writeHead(status, head);
  res.end(text);
}

function setHeaders(res: ServerResponse, headers: Headers | undefined): void {
  if (headers === undefined || headers === null) return;
  for (const name of Object.keys(headers)) res.setHeader(name, headers[name] as string | string[]);
}

/** `NOT_FOUND` for 404, `I_M_A_TEAPOT` for 418: a stable code when the error has none. */
export function statusName(status: number): string {
  const text = STATUS_CODES[status];
  if (text === undefined) return `HTTP_${status}`;
  return text
    .toUpperCase()
    .replace(/[^A-Z0-9]+/g, '_')
    .replace(/^_|_$/g, '');
}

function messageOf(err: unknown): string {
  if (err instanceof Error) return err.message;
  if (typeof err === 'string') return err;
  return 'error';
}
