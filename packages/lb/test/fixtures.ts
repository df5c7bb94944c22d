import type { Context, Endpoint } from '@kitts/endpoint';
import type { EndpointSet, Entry, Instance } from '@kitts/sd';
import type { EndpointSource } from '../src/index.js';

/** An entry whose endpoint answers with its id and counts its calls. */
export interface TestEntry extends Entry<unknown, string> {
  calls: number;
  up: boolean;
}

export function entry(
  id: string,
  extra: Partial<Instance> & { up?: boolean; endpoint?: Endpoint<unknown, string> } = {},
) {
  const { up, endpoint, ...inst } = extra;
  const e: TestEntry = {
    instance: { id, address: `${id}:80`, ...inst },
    calls: 0,
    up: up ?? true,
    endpoint:
      endpoint ??
      (async () => {
        e.calls++;
        return id;
      }),
  };
  return e;
}

/** An entry with an available() method, initially up. */
export function switchable(id: string, extra: Partial<Instance> = {}): TestEntry {
  const e = entry(id, extra);
  (e as { available?: () => boolean }).available = () => e.up;
  return e;
}

/** A source whose set the test replaces by hand; each set() is a new version. */
export class Source<Req = unknown, Res = string> implements EndpointSource<Req, Res> {
  private set: EndpointSet<Req, Res>;
  reads = 0;
  constructor(entries: readonly Entry<Req, Res>[] = []) {
    this.set = { version: 1, entries: sortById(entries) };
  }
  current(): EndpointSet<Req, Res> {
    this.reads++;
    return this.set;
  }
  update(entries: readonly Entry<Req, Res>[]): void {
    this.set = { version: this.set.version + 1, entries: sortById(entries) };
  }
}

function sortById<T extends { instance: Instance }>(entries: readonly T[]): T[] {
  return [...entries].sort((a, b) =>
    a.instance.id < b.instance.id ? -1 : a.instance.id > b.instance.id ? 1 : 0,
  );
}

export const ids = (n: number, prefix = 'i') =>
  Array.from({ length: n }, (_, i) => `${prefix}${String(i).padStart(4, '0')}`);

/** A promise the test settles by hand. */
export function deferred<T>() {
  let resolve!: (v: T) => void;
  let reject!: (e: unknown) => void;
  const promise = new Promise<T>((res, rej) => {
    resolve = res;
    reject = rej;
  });
  return { promise, resolve, reject };
}

/** An endpoint whose calls wait until the test answers them; remembers each call's context. */
export function controlled(id: string) {
  const calls: { ctx: Context; answer: ReturnType<typeof deferred<string>> }[] = [];
  const endpoint: Endpoint<unknown, string> = (ctx) => {
    const answer = deferred<string>();
    calls.push({ ctx, answer });
    return answer.promise;
  };
  return { entry: entry(id, { endpoint }), calls };
}

/** Let pending promise callbacks run. */
export const flush = () => new Promise((r) => setImmediate(r));
