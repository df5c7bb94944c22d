import { background, type Context, type Endpoint } from '@kitts/endpoint';

/** A clock the test moves by hand; both the breaker and contexts can read it. */
export function fakeClock(start = 1_000_000) {
  let t = start;
  return {
    now: () => t,
    advance(ms: number) {
      t += ms;
    },
    set(ms: number) {
      t = ms;
    },
    ctx(): Context {
      return background({ now: () => t });
    },
  };
}

/** go-kit's mock: counts calls that got through and fails with `err` when set. */
export function mock<Res = object>(response = {} as Res) {
  const m = {
    thru: 0,
    err: undefined as unknown,
    endpoint: (async () => {
      m.thru++;
      if (m.err !== undefined) throw m.err;
      return response;
    }) as Endpoint<unknown, Res>,
  };
  return m;
}

export interface Deferred<T> {
  promise: Promise<T>;
  resolve(v: T): void;
  reject(e: unknown): void;
}

export function deferred<T = unknown>(): Deferred<T> {
  let resolve!: (v: T) => void;
  let reject!: (e: unknown) => void;
  const promise = new Promise<T>((res, rej) => {
    resolve = res;
    reject = rej;
  });
  return { promise, resolve, reject };
}

/** An endpoint whose calls wait until the test settles them, in order. */
export function gated<Res = string>() {
  const pending: Deferred<Res>[] = [];
  const contexts: Context[] = [];
  const endpoint: Endpoint<unknown, Res> = (ctx) => {
    const d = deferred<Res>();
    pending.push(d);
    contexts.push(ctx);
    return d.promise;
  };
  return { endpoint, pending, contexts };
}

/** The settled outcome of a promise: the value, or the error it rejected with. */
export async function outcome<T>(p: Promise<T>): Promise<T | unknown> {
  try {
    return await p;
  } catch (err) {
    return err;
  }
}
