/**
 * One way to validate untrusted values with either an io-ts codec or any Standard Schema
 * v1 validator (zod, valibot, arktype...), shared by the transports so that a bad request
 * reads the same over HTTP and gRPC: a DecodeError whose `issues` name every failing path
 * (`$.items[0].name`). Both kinds are recognised by shape, so neither library is a
 * dependency: users bring the one they already use.
 */
import { DecodeError, type KittsErrorOptions } from './errors.js';

/** The Standard Schema v1 interface (https://standardschema.dev), written out to avoid a dependency. */
export interface StandardSchemaV1<Input = unknown, Output = Input> {
  readonly '~standard': {
    readonly version: 1;
    readonly vendor: string;
    readonly validate: (value: unknown) => StandardResult<Output> | Promise<StandardResult<Output>>;
    readonly types?: { readonly input: Input; readonly output: Output } | undefined;
  };
}

export type StandardResult<Output> =
  | { readonly value: Output; readonly issues?: undefined }
  | { readonly issues: readonly StandardIssue[] };

export interface StandardIssue {
  readonly message: string;
  readonly path?: readonly (PropertyKey | { readonly key: PropertyKey })[] | undefined;
}

/** The part of an io-ts `Type` we use: `decode` returning an fp-ts Either. */
export interface IoTsType<A> {
  readonly name: string;
  decode(input: unknown): IoTsEither<A>;
}

type IoTsEither<A> =
  | { readonly _tag: 'Left'; readonly left: readonly IoTsValidationError[] }
  | { readonly _tag: 'Right'; readonly right: A };

interface IoTsValidationError {
  readonly value: unknown;
  readonly context: readonly {
    readonly key: string;
    readonly type: { readonly name: string; readonly _tag?: string };
  }[];
  readonly message?: string | undefined;
}

/** io-ts' `Type`, under the name the gRPC transport used first. */
export type IoTsCodec<A> = IoTsType<A>;

/** Anything the transports' decoders accept (`jsonBody`, `query`, `jsonResponse`, `schemaDecoder`...). */
export type Schema<T> = StandardSchemaV1<unknown, T> | IoTsType<T>;

/** The type a schema produces. */
export type Infer<S> = S extends StandardSchemaV1<any, infer O> ? O : S extends IoTsType<infer A> ? A : never;

export interface Issue {
  /** A JSONPath-like location: `$` is the whole value, `$.items[0].name` a field. */
  path: string;
  message: string;
}

export type Validator<T> = (value: unknown) => T | Promise<T>;

/**
 * Compile a schema into a function that returns the valid value or throws a DecodeError
 * naming every failing path. `what` prefixes the message ("invalid request body").
 * Throws a TypeError at once when `schema` is neither kind, so a typo fails at start-up.
 */
export function validator<T>(
  schema: Schema<T>,
  what: string,
  errorOptions?: KittsErrorOptions,
): Validator<T> {
  if (isStandard(schema)) {
    const validate = schema['~standard'].validate;
    return (value) => {
      const result = validate(value);
      if (result instanceof Promise) return result.then((r) => standardValue(r, what, errorOptions));
      return standardValue(result, what, errorOptions);
    };
  }
  if (isIoTs(schema)) {
    return (value) => {
      const result = schema.decode(value);
      if (result._tag === 'Right') return result.right;
      throw invalid(what, ioTsIssues(result.left), errorOptions);
    };
  }
  throw new TypeError('kitts: a schema must be an io-ts codec or a Standard Schema validator');
}

function standardValue<T>(result: StandardResult<T>, what: string, errorOptions?: KittsErrorOptions): T {
  if (result.issues === undefined) return result.value;
  throw invalid(
    what,
    result.issues.map((i) => ({ path: formatPath(i.path?.map(segmentKey) ?? []), message: i.message })),
    errorOptions,
  );
}

function invalid(what: string, issues: Issue[], errorOptions?: KittsErrorOptions): DecodeError {
  const unique = dedupe(issues);
  const detail = unique.map((i) => `${i.path}: ${i.message}`).join('; ');
  return new DecodeError(`${what}: ${detail}`, { issues: unique, ...errorOptions });
}

function ioTsIssues(errors: readonly IoTsValidationError[]): Issue[] {
  return errors.map((e) => {
    const c = e.context;
    // Entry i is a member of a union or intersection (keyed '0', '1'...), which is no data path.
    const member = (i: number) => {
      const tag = c[i - 1]?.type._tag;
      return tag === 'UnionType' || tag === 'IntersectionType';
    };
    // io-ts' context runs from the root type (key '') to the failing one.
    const keys: string[] = [];
    for (let i = 1; i < c.length; i++) if (!member(i)) keys.push(c[i]!.key);
    // What was expected: a union as a whole, not each of its members (one issue, not N).
    let j = c.length - 1;
    while (j > 0 && member(j)) j--;
    const expected = c[j]?.type.name ?? 'a valid value';
    return { path: formatPath(keys), message: e.message ?? `expected ${expected}, got ${describe(e.value)}` };
  });
}

function segmentKey(s: PropertyKey | { readonly key: PropertyKey }): PropertyKey {
  return typeof s === 'object' ? s.key : s;
}

const IDENT = /^[A-Za-z_$][\w$]*$/;

export function formatPath(keys: readonly PropertyKey[]): string {
  let out = '$';
  for (const k of keys) {
    if (typeof k === 'number' || (typeof k === 'string' && /^\d+$/.test(k))) out += `[${String(k)}]`;
    else if (typeof k === 'string' && IDENT.test(k)) out += `.${k}`;
    else out += `[${JSON.stringify(String(k))}]`;
  }
  return out;
}

function describe(value: unknown): string {
  if (value === undefined) return 'undefined';
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'an array';
  if (typeof value === 'object') return 'an object';
  // Not the text itself: a rejected field may hold a password or a token, and this message
  // goes to the caller and to the server's logs.
  if (typeof value === 'string') return `a string of ${value.length} characters`;
  return String(value);
}

function dedupe(issues: Issue[]): Issue[] {
  // io-ts reports one error per union member; keep each (path, message) once.
  const seen = new Set<string>();
  return issues.filter((i) => {
    const k = `${i.path}\u0000${i.message}`;
    if (seen.has(k)) return false;
    seen.add(k);
    return true;
  });
}

function isStandard(s: unknown): s is StandardSchemaV1<unknown, any> {
  if ((typeof s !== 'object' && typeof s !== 'function') || s === null) return false;
  const std = (s as { '~standard'?: { version?: unknown; validate?: unknown } })['~standard'];
  return typeof std === 'object' && std !== null && std.version === 1 && typeof std.validate === 'function';
}

function isIoTs(s: unknown): s is IoTsType<any> {
  return (
    typeof s === 'object' &&
    s !== null &&
    typeof (s as { decode?: unknown }).decode === 'function' &&
    typeof (s as { is?: unknown }).is === 'function'
  );
}
