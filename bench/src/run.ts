// `npm run bench [name...]`: runs every benchmark module (or the named ones) in one process.
const all: Record<string, () => Promise<{ run: () => Promise<void> }>> = {
  endpoint: () => import('./endpoint.bench.js'),
  'transport-http': () => import('./transport-http.bench.js'),
  sd: () => import('./sd.bench.js'),
  'sd-registries': () => import('./sd-registries.bench.js'),
  'sd-registries-servers': () => import('./sd-registries-servers.bench.js'),
  'transport-grpc': () => import('./transport-grpc.bench.js'),
  circuitbreaker: () => import('./circuitbreaker.bench.js'),
  ratelimit: () => import('./ratelimit.bench.js'),
  lb: () => import('./lb.bench.js'),
  observability: () => import('./observability.bench.js'),
};

const wanted = process.argv.slice(2).filter((a) => !a.startsWith('-'));
for (const name of wanted.length > 0 ? wanted : Object.keys(all)) {
  const load = all[name];
  if (!load) {
    console.error(`unknown benchmark ${name}; known: ${Object.keys(all).join(', ')}`);
    process.exit(2);
  }
  console.log(`\n# ${name}`);
  await (await load()).run();
}
