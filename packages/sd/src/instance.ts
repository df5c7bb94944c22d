import type { Instance } from './types.js';

/** An Instance's weight, 1 when absent; invalid weights (NaN, negative) count as 0. */
export function weightOf(instance: Instance): number {
  const w = instance.weight;
  if (w === undefined) return 1;
  return Number.isFinite(w) && w > 0 ? w : 0;
}

/** Parse `"host:port"` / `"unix:/path"` into an Instance whose id is the address. */
export function toInstance(value: Instance | string): Instance {
  if (typeof value !== 'string') return value;
  const address = value.trim();
  if (address === '') throw new TypeError('kitts/sd: an instance address must not be empty');
  return { id: address, address };
}

export function compareById(a: Instance, b: Instance): number {
  return a.id < b.id ? -1 : a.id > b.id ? 1 : 0;
}

/**
 * Sorted by id with duplicates removed (the first occurrence wins). Returns the input
 * itself when it is already sorted and unique: the common case costs one pass.
 */
export function sortedUnique(instances: readonly Instance[]): readonly Instance[] {
  let ok = true;
  for (let i = 1; i < instances.length; i++) {
    if (!(instances[i - 1]!.id < instances[i]!.id)) {
      ok = false;
      break;
    }
  }
  if (ok) return instances;
  // The default sort compares ids natively (UTF-16 order, as `<`), several times faster
  // than a JS comparator on large sets; the Map keeps the first occurrence of an id.
  const byId = new Map<string, Instance>();
  for (const inst of instances) if (!byId.has(inst.id)) byId.set(inst.id, inst);
  const ids = [...byId.keys()].sort();
  const out: Instance[] = new Array(ids.length);
  for (let i = 0; i < ids.length; i++) out[i] = byId.get(ids[i]!)!;
  return out;
}

export function sameInstance(a: Instance, b: Instance): boolean {
  return (
    a === b ||
    (a.id === b.id &&
      a.address === b.address &&
      weightOf(a) === weightOf(b) &&
      sameList(a.tags, b.tags) &&
      sameRecord(a.meta, b.meta))
  );
}

export function sameInstances(a: readonly Instance[], b: readonly Instance[]): boolean {
  if (a === b) return true;
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (!sameInstance(a[i]!, b[i]!)) return false;
  return true;
}

function sameList(a: readonly string[] | undefined, b: readonly string[] | undefined): boolean {
  if (a === b) return true;
  const x = a ?? [];
  const y = b ?? [];
  if (x.length !== y.length) return false;
  for (let i = 0; i < x.length; i++) if (x[i] !== y[i]) return false;
  return true;
}

function sameRecord(
  a: Readonly<Record<string, string>> | undefined,
  b: Readonly<Record<string, string>> | undefined,
) {
  if (a === b) return true;
  const x = a ?? {};
  const y = b ?? {};
  const kx = Object.keys(x);
  if (kx.length !== Object.keys(y).length) return false;
  for (const k of kx) if (x[k] !== y[k]) return false;
  return true;
}
