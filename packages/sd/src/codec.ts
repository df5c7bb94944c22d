import type { Instance } from './types.js';

/**
 * Decodes what a registry stores for one instance (an etcd value, a ZooKeeper node's
 * data): a JSON Instance (what the kitts registrars write), or a plain `host:port` string
 * as go-kit wrote them, whose id is then `fallbackId` (e.g. an etcd key's suffix) or, without
 * one, the address itself. Returns an Error naming the problem for a value that is
 * neither: the caller skips that one and logs; the rest of the set is unaffected.
 */
export function decodeInstance(raw: string, fallbackId?: string): Instance | Error {
  const text = raw.trim();
  if (text === '') return new Error('empty value');
  if (text.startsWith('{')) {
    let parsed: unknown;
    try {
      parsed = JSON.parse(text);
    } catch (err) {
      return new Error(`invalid JSON (${(err as Error).message})`);
    }
    return checkInstance(parsed, fallbackId);
  }
  if (/\s/.test(text)) return new Error(`not an address: ${JSON.stringify(text)}`);
  return Object.freeze({ id: fallbackId ?? text, address: text });
}

/** Validates an Instance-shaped value; keeps only the Instance fields. */
export function checkInstance(value: unknown, fallbackId?: string): Instance | Error {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    return new Error('an instance must be an object');
  }
  const v = value as Record<string, unknown>;
  // Without an id, the address is one (as for plain host:port data).
  const fallback = fallbackId ?? (typeof v.address === 'string' ? v.address.trim() : undefined);
  const id = v.id === undefined ? fallback : v.id;
  if (typeof id !== 'string' || id === '') return new Error('instance id must be a non-empty string');
  if (typeof v.address !== 'string' || v.address.trim() === '') {
    return new Error(`instance ${id}: address must be a non-empty string`);
  }
  const out: { -readonly [K in keyof Instance]: Instance[K] } = { id, address: v.address.trim() };
  if (v.weight !== undefined) {
    if (typeof v.weight !== 'number' || !Number.isFinite(v.weight) || v.weight < 0) {
      return new Error(`instance ${id}: weight must be a finite number >= 0`);
    }
    out.weight = v.weight;
  }
  if (v.tags !== undefined) {
    if (!Array.isArray(v.tags) || v.tags.some((t) => typeof t !== 'string')) {
      return new Error(`instance ${id}: tags must be an array of strings`);
    }
    out.tags = Object.freeze([...(v.tags as string[])]);
  }
  if (v.meta !== undefined) {
    const m = v.meta;
    if (
      typeof m !== 'object' ||
      m === null ||
      Array.isArray(m) ||
      Object.values(m).some((x) => typeof x !== 'string')
    ) {
      return new Error(`instance ${id}: meta must map strings to strings`);
    }
    out.meta = Object.freeze({ ...(m as Record<string, string>) });
  }
  return Object.freeze(out);
}

/** The JSON a registrar stores: the Instance's own fields, nothing else. */
export function encodeInstance(instance: Instance): string {
  const { id, address, weight, tags, meta } = instance;
  return JSON.stringify({ id, address, weight, tags, meta });
}
