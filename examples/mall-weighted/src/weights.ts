// Weights from instance metadata. Registries keep weights in different places (Consul's
// Weights.Passing, an etcd value's weight field) and many deployments put them in
// metadata instead (`weight=5`, as Nacos and Dubbo do), where every registry can carry
// them. This Instancer reads `meta.weight` into `instance.weight`, the field the weighted
// balancers of @kitts/lb read, so the balancer never has to know where weights come from.
import { type Logger, silentLogger } from '@kitts/endpoint';
import { type Instance, InstanceBroadcaster, type Instancer } from '@kitts/sd';

export function weightsFromMeta(
  inner: Instancer,
  options: { key?: string; logger?: Logger } = {},
): Instancer {
  const { key = 'weight', logger = silentLogger } = options;
  const broadcaster = new InstanceBroadcaster({ logger });
  const withWeight = (instance: Instance): Instance => {
    const raw = instance.meta?.[key];
    if (raw === undefined) return instance;
    const weight = Number(raw);
    if (!(Number.isFinite(weight) && weight >= 0)) {
      logger.warn({ id: instance.id, [key]: raw }, `meta.${key} is not a number >= 0; weight left as it was`);
      return instance;
    }
    return { ...instance, weight };
  };
  const off = inner.subscribe((e) => {
    // An error keeps the last set, as every kitts Instancer does.
    if (e.error !== undefined) broadcaster.fail(e.error);
    else broadcaster.update(e.instances.map(withWeight));
  });
  return {
    subscribe: (listener) => broadcaster.subscribe(listener),
    close: async () => {
      off();
      broadcaster.clear();
      await inner.close();
    },
  };
}
