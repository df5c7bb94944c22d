/**
 * Validation of decoded messages with an io-ts codec or any Standard Schema validator
 * (zod, valibot, arktype). Protobuf decoding guarantees shapes, not meaning (an empty
 * string, a zero, a missing sub-message are all valid protobuf); a schema says what the
 * endpoint accepts, and a failure becomes a DecodeError (INVALID_ARGUMENT) naming paths.
 * The validation itself is @kitts/endpoint/schema's, shared with the HTTP transport, so a
 * bad request reads the same over both.
 */
import type { Context } from '@kitts/endpoint';
import { type Schema, validator } from '@kitts/endpoint/schema';

export type { IoTsCodec, Issue, Schema, StandardSchemaV1 } from '@kitts/endpoint/schema';

/**
 * Validate `input` against an io-ts codec or a Standard Schema; the value the schema
 * produces, or a DecodeError whose message and `issues` name every failing path.
 */
export async function validate<T>(schema: Schema<T>, input: unknown): Promise<T> {
  return validator(schema, 'invalid request')(input);
}

/**
 * A request decoder for `createUnaryHandler` that validates the incoming message:
 * `createUnaryHandler(endpoint, schemaDecoder(CreateUser), encode)`.
 */
export function schemaDecoder<T>(schema: Schema<T>): (ctx: Context, message: unknown) => Promise<T> {
  const check = validator(schema, 'invalid request');
  return async (_ctx, message) => check(message);
}
