import { Etcd3, type IOptions, type Namespace } from 'etcd3';

/** An etcd3 client (or a namespace of one) to use as is, or options to create one from. */
export type EtcdClientInput = Namespace | IOptions;

export interface ResolvedClient {
  readonly client: Namespace;
  /** Set when we created the client: then we close it too. */
  readonly owned: Etcd3 | undefined;
}

export function resolveClient(input: EtcdClientInput, who: string): ResolvedClient {
  if (typeof input !== 'object' || input === null) {
    throw new TypeError(`kitts/sd-etcd: ${who} needs an etcd3 client or etcd3 options, got ${String(input)}`);
  }
  // Duck-typed rather than instanceof: the user's etcd3 may be another copy than ours.
  const maybe = input as Partial<Namespace>;
  if (
    typeof maybe.getAll === 'function' &&
    typeof maybe.watch === 'function' &&
    typeof maybe.lease === 'function'
  ) {
    return { client: input as Namespace, owned: undefined };
  }
  if (!('hosts' in input)) {
    throw new TypeError(`kitts/sd-etcd: ${who}: etcd3 options need \`hosts\` (e.g. 'http://127.0.0.1:2379')`);
  }
  const owned = new Etcd3(input as IOptions);
  return { client: owned, owned };
}
