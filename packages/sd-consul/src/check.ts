import { type Duration, parseDuration, toConsulDuration } from './duration.js';

interface CheckCommon {
  /**
   * Consul removes the service once this check has been critical this long (Consul's
   * minimum is 1m and its reaper runs every 30s, so expect up to 30s more).
   */
  deregisterCriticalServiceAfter?: Duration;
  notes?: string;
}

/** The registrar sends `/v1/agent/check/pass` itself, every `heartbeat` (ttl/3 by default). */
export interface TtlCheck extends CheckCommon {
  ttl: Duration;
  heartbeat?: Duration;
}
export interface HttpCheck extends CheckCommon {
  http: string;
  interval: Duration;
  timeout?: Duration;
  method?: string;
  header?: Record<string, string[]>;
  tlsSkipVerify?: boolean;
}
export interface TcpCheck extends CheckCommon {
  tcp: string;
  interval: Duration;
  timeout?: Duration;
}
/** `grpc` is "host:port" or "host:port/service" (the standard gRPC health protocol). */
export interface GrpcCheck extends CheckCommon {
  grpc: string;
  interval: Duration;
  timeout?: Duration;
  grpcUseTls?: boolean;
}

export type ConsulCheck = TtlCheck | HttpCheck | TcpCheck | GrpcCheck;

const KINDS = ['ttl', 'http', 'tcp', 'grpc'] as const;

/** Consul's JSON for a check, validated; `ttlMs` and `heartbeatMs` are set for TTL checks. */
export function checkDefinition(
  check: ConsulCheck,
  checkId: string,
  service: string,
): { body: Record<string, unknown>; ttlMs?: number; heartbeatMs?: number } {
  if (check === null || typeof check !== 'object') {
    throw new TypeError('kitts/sd-consul: check must be an object such as { ttl: "10s" }');
  }
  const kinds = KINDS.filter((k) => (check as unknown as Record<string, unknown>)[k] !== undefined);
  if (kinds.length !== 1) {
    throw new TypeError(
      `kitts/sd-consul: check must have exactly one of ttl, http, tcp, grpc; got ${kinds.length === 0 ? 'none' : kinds.join(', ')}`,
    );
  }
  const body: Record<string, unknown> = { CheckID: checkId, Name: `Service '${service}' check` };
  if (check.notes !== undefined) body.Notes = check.notes;
  if (check.deregisterCriticalServiceAfter !== undefined) {
    body.DeregisterCriticalServiceAfter = toConsulDuration(
      check.deregisterCriticalServiceAfter,
      'check.deregisterCriticalServiceAfter',
    );
  }
  if ('ttl' in check && check.ttl !== undefined) {
    const ttlMs = parseDuration(check.ttl, 'check.ttl');
    if (ttlMs < 1) throw new TypeError('kitts/sd-consul: check.ttl must be positive');
    const heartbeatMs =
      check.heartbeat === undefined ? ttlMs / 3 : parseDuration(check.heartbeat, 'check.heartbeat');
    if (!(heartbeatMs > 0 && heartbeatMs < ttlMs)) {
      throw new TypeError('kitts/sd-consul: check.heartbeat must be positive and shorter than check.ttl');
    }
    body.TTL = toConsulDuration(check.ttl, 'check.ttl');
    return { body, ttlMs, heartbeatMs };
  }
  const c = check as HttpCheck | TcpCheck | GrpcCheck;
  if (c.interval === undefined) throw new TypeError(`kitts/sd-consul: a ${kinds[0]} check needs an interval`);
  body.Interval = toConsulDuration(c.interval, 'check.interval');
  if (c.timeout !== undefined) body.Timeout = toConsulDuration(c.timeout, 'check.timeout');
  if ('http' in c) {
    if (!URL.canParse(c.http))
      throw new TypeError(`kitts/sd-consul: check.http must be a URL, got ${c.http}`);
    body.HTTP = c.http;
    if (c.method !== undefined) body.Method = c.method;
    if (c.header !== undefined) body.Header = c.header;
    if (c.tlsSkipVerify !== undefined) body.TLSSkipVerify = c.tlsSkipVerify;
  } else if ('tcp' in c) {
    if (!/^.+:\d{1,5}$/.test(c.tcp))
      throw new TypeError(`kitts/sd-consul: check.tcp must be "host:port", got ${c.tcp}`);
    body.TCP = c.tcp;
  } else {
    if (!/^[^/]+:\d{1,5}(\/.*)?$/.test(c.grpc)) {
      throw new TypeError(
        `kitts/sd-consul: check.grpc must be "host:port" or "host:port/service", got ${c.grpc}`,
      );
    }
    body.GRPC = c.grpc;
    if (c.grpcUseTls !== undefined) body.GRPCUseTLS = c.grpcUseTls;
  }
  return { body };
}
