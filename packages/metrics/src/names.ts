// Prometheus' own grammar, checked here so a bad name fails at set-up with our message
// instead of at the first scrape, or as a confusing error from deep inside prom-client.
const LABEL = /^[a-zA-Z_][a-zA-Z0-9_]*$/;
const PREFIX = /^([a-zA-Z_:][a-zA-Z0-9_:]*)?$/;

export function checkName(name: unknown, what = 'name'): string {
  if (typeof name !== 'string' || name === '') {
    throw new TypeError(`kitts/metrics: ${what} must be a non-empty string, got ${JSON.stringify(name)}`);
  }
  return name;
}

export function checkPrefix(prefix: unknown): string {
  if (typeof prefix !== 'string' || !PREFIX.test(prefix)) {
    throw new TypeError(
      `kitts/metrics: prefix ${JSON.stringify(prefix)} is not a valid start of a Prometheus metric name`,
    );
  }
  return prefix;
}

export function checkLabels(
  labels: Readonly<Record<string, string>>,
  reserved: readonly string[],
): Record<string, string> {
  if (typeof labels !== 'object' || labels === null || Array.isArray(labels)) {
    throw new TypeError('kitts/metrics: labels must be an object of label name to string value');
  }
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(labels)) {
    if (!LABEL.test(k) || k.startsWith('__')) {
      throw new TypeError(`kitts/metrics: "${k}" is not a valid Prometheus label name`);
    }
    if (reserved.includes(k)) throw new TypeError(`kitts/metrics: the label "${k}" is set by kitts itself`);
    if (typeof v !== 'string') {
      throw new TypeError(`kitts/metrics: the value of label "${k}" must be a string, got ${typeof v}`);
    }
    out[k] = v;
  }
  return out;
}
