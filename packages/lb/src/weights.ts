import { type Entry, weightOf } from '@kitts/sd';

/**
 * Each entry's weight (`weightOf`: 1 when absent, 0 when invalid). When every weight is
 * 0 the set would take no traffic at all; treat them as equal instead.
 */
export function weightsOf<Req, Res>(entries: readonly Entry<Req, Res>[]): Float64Array {
  const w = new Float64Array(entries.length);
  let any = false;
  for (let i = 0; i < entries.length; i++) {
    w[i] = weightOf(entries[i]!.instance);
    if (w[i]! > 0) any = true;
  }
  if (!any) w.fill(1);
  return w;
}

export function allEqual(w: Float64Array): boolean {
  for (let i = 1; i < w.length; i++) if (w[i] !== w[0]) return false;
  return true;
}
