/**
 * Validation of decoded messages with an io-ts codec or any Standard Schema validator
 * (zod, valibot, arktype). Protobuf decoding guarantees shapes, not meaning (an empty
 * string, a zero, a missing sub-message are all valid protobuf); a schema says what the
 * endpoint accepts, and a failure becomes a DecodeError (INVALID_ARGUMENT) naming paths.
 *
 * Both are matched structurally, so neither library is a dependency.
 */
import { type Context, DecodeError } from '@kitts/endpoint';

/** The Standard Schema v1 interface (https://standardschema.dev), copied as its spec invites. */
export interface StandardSchemaV1<Input = unknown, Output = Input> {
  readonly '~standard': {
    readonly version: 1;
    readonly vendor: string;
    readonly validate: (
      value: unknown,
    ) => StandardSchemaV1.Result<Output> | Promise<StandardSchemaV1.Result<Output>>;
    readonly types?: { readonly input: Input; readonly output: Output } | undefined;
  };
}

export declare namespace StandardSchemaV1 {
  type Result<Output> = SuccessResult<Output> | FailureResult;
  interface SuccessResult<Output> {
    readonly value: Output;
    readonly issues?: undefined;
  }
  interface FailureResult {
    readonly issues: readonly Issue[];
  }
  interface Issue {
    readonly message: string;
    readonly path?: readonly (PropertyKey | { readonly key: PropertyKey })[] | undefined;
  }
}

/** The part of an io-ts `Type` used here: `decode` returning an fp-ts Either. */
export interface IoTsCodec<A> {
  readonly name: string;
  decode(input: unknown): IoTsEither<A>;
}

type IoTsEither<A> =
  | { readonly _tag: 'Left'; readonly left: readonly IoTsValidationError[] }
  | { readonly _tag: 'Right'; readonly right: A };

interface IoTsValidationError {
  readonly message?: string | undefined;
  readonly context: readonly {
    readonly key: string;
    readonly type: { readonly name: string; readonly _tag?: string };
  }[];
}

export type Schema<T> = StandardSchemaV1<unknown, T> | IoTsCodec<T>;

export interface Issue {
  path: string;
  message: string;
}

function isStandard<T>(s: Schema<T>): s is StandardSchemaV1<unknown, T> {
  return typeof (s as { '~standard'?: unknown })['~standard'] === 'object';
}

/** `items[0].name`; the root is `(root)`. */
function formatPath(keys: readonly PropertyKey[]): string {
  let out = '';
  for (const k of keys) {
    if (typeof k === 'number' || (typeof k === 'string' && /^\d+$/.test(k))) out += `[${String(k)}]`;
    else out += out === '' ? String(k) : `.${String(k)}`;
  }
  return out === '' ? '(root)' : out;
}

function ioTsIssues(errors: readonly IoTsValidationError[]): Issue[] {
  const seen = new Set<string>();
  const issues: Issue[] = [];
  for (const e of errors) {
    const c = e.context;
    // Entry i is a member of a union or intersection (keyed '0', '1'...), not a field.
    const member = (i: number) => {
      const tag = c[i - 1]?.type._tag;
      return tag === 'UnionType' || tag === 'IntersectionType';
    };
    // c[0] is the root codec (key '').
    const keys: string[] = [];
    for (let i = 1; i < c.length; i++) if (!member(i)) keys.push(c[i]!.key);
    // What was expected: the union as a whole rather than each of its members.
    let j = c.length - 1;
    while (j > 0 && member(j)) j--;
    const issue = {
      path: formatPath(keys),
      message: e.message ?? `expected ${c[j]?.type.name ?? 'a value'}`,
    };
    const id = `${issue.path}\0${issue.message}`;
    if (seen.has(id)) continue;
    seen.add(id);
    issues.push(issue);
  }
  return issues;
}

function standardIssues(issues: readonly StandardSchemaV1.Issue[]): Issue[] {
  return issues.map((i) => ({
    path: formatPath((i.path ?? []).map((p) => (typeof p === 'object' && p !== null ? p.key : p))),
    message: i.message,
  }));
}

function fail(issues: Issue[]): DecodeError {
  const text = issues.map((i) => `${i.path}: ${i.message}`).join('; ');
  return new DecodeError(`invalid request: ${text}`, { issues });
}

/**
 * Validate `input` against an io-ts codec or a Standard Schema; the value the schema
 * produces, or a DecodeError whose message and `issues` name every failing path.
 */
export async function validate<T>(schema: Schema<T>, input: unknown): Promise<T> {
  if (isStandard(schema)) {
    const r = await schema['~standard'].validate(input);
    if (r.issues !== undefined) throw fail(standardIssues(r.issues));
    return r.value;
  }
  if (typeof (schema as { decode?: unknown }).decode !== 'function') {
    throw new TypeError('kitts: a schema must be an io-ts codec or implement Standard Schema v1');
  }
  const r = schema.decode(input);
  if (r._tag === 'Left') throw fail(ioTsIssues(r.left));
  return r.right;
}

/**
 * A request decoder for `createUnaryHandler` that validates the incoming message:
 * `createUnaryHandler(endpoint, schemaDecoder(CreateUser), encode)`.
 */
export function schemaDecoder<T>(schema: Schema<T>): (ctx: Context, message: unknown) => Promise<T> {
  if (typeof schema !== 'object' && typeof schema !== 'function') {
    throw new TypeError('kitts: schemaDecoder needs an io-ts codec or a Standard Schema');
  }
  return (_ctx, message) => validate(schema, message);
}
