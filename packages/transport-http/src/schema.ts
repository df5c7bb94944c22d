// The schema support lives in @kitts/endpoint/schema, shared with the gRPC transport.
export * from '@kitts/endpoint/schema';
