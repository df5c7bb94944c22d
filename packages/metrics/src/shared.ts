import { Counter, Gauge, type Registry } from 'prom-client';

/**
 * The counter or gauge of that name on the registry, created on first use. Several
 * breakers, limiters or endpointers report into one metric, told apart by labels, so
 * the second one must find the first one's metric instead of registering it again.
 */
export function counterOf(
  registry: Registry,
  name: string,
  help: string,
  labelNames: string[],
): Counter<string> {
  return metricOf(
    registry,
    name,
    labelNames,
    Counter,
    () => new Counter({ name, help, labelNames, registers: [registry] }),
  );
}

export function gaugeOf(registry: Registry, name: string, help: string, labelNames: string[]): Gauge<string> {
  return metricOf(
    registry,
    name,
    labelNames,
    Gauge,
    () => new Gauge({ name, help, labelNames, registers: [registry] }),
  );
}

function metricOf<M extends Counter<string> | Gauge<string>>(
  registry: Registry,
  name: string,
  labelNames: string[],
  kind: abstract new (...args: never[]) => M,
  create: () => M,
): M {
  const existing = registry.getSingleMetric(name);
  if (existing === undefined) return create();
  const names = (existing as unknown as { labelNames?: string[] }).labelNames ?? [];
  if (!(existing instanceof kind) || names.join() !== labelNames.join()) {
    throw new TypeError(
      `kitts/metrics: the registry already has a metric "${name}" that is not a ${kind.name} ` +
        `labelled [${labelNames.join(', ')}]`,
    );
  }
  return existing;
}
