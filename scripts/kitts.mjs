#!/usr/bin/env node
// The repository's two commands, `npm start` and `npm test`, and their helpers.
// Plain Node with no dependencies: this runs before anything is installed.
// Every step checks first and does nothing when nothing needs doing, so a second run is quiet.
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const PNPM_VERSION = '10.34.8';
// The example `npm start` runs.
const FLAGSHIP = join('examples', 'goods-comments', 'src', 'main.ts');
const pnpmDir = join(root, '.tools', 'pnpm');
const pnpmBin = join(pnpmDir, 'node_modules', 'pnpm', 'bin', 'pnpm.cjs');
const quiet = { cwd: root, stdio: ['ignore', 'pipe', 'pipe'], encoding: 'utf8' };
const loud = { cwd: root, stdio: 'inherit' };

function fail(message, output) {
  if (output) process.stderr.write(output);
  process.stderr.write(`\nkitts: ${message}\n`);
  process.exit(1);
}

function run(cmd, args, opts = quiet, what = `${cmd} ${args.join(' ')}`) {
  const r = spawnSync(cmd, args, { ...opts, env: { ...process.env, ...(opts.env ?? {}) } });
  if (r.error) fail(`${what}: ${r.error.message}`);
  if (r.status !== 0)
    fail(`${what} failed (exit ${r.status ?? r.signal})`, `${r.stdout ?? ''}${r.stderr ?? ''}`);
  return r.stdout ?? '';
}

function ensurePnpm() {
  if (existsSync(pnpmBin)) return;
  console.log(`kitts: installing pnpm ${PNPM_VERSION} into .tools/pnpm`);
  run('npm', [
    'install',
    '--prefix',
    pnpmDir,
    '--no-save',
    '--no-audit',
    '--no-fund',
    '--loglevel=error',
    `pnpm@${PNPM_VERSION}`,
  ]);
}

const pnpm = (args, opts) => run(process.execPath, [pnpmBin, ...args], opts, `pnpm ${args.join(' ')}`);

function manifestHash() {
  const h = createHash('sha256');
  const add = (f) => existsSync(f) && h.update(f).update(readFileSync(f));
  add(join(root, 'pnpm-lock.yaml'));
  add(join(root, 'pnpm-workspace.yaml'));
  add(join(root, 'package.json'));
  for (const dir of ['packages', 'examples']) {
    const base = join(root, dir);
    if (!existsSync(base)) continue;
    for (const name of readdirSync(base).sort()) add(join(base, name, 'package.json'));
  }
  add(join(root, 'bench', 'package.json'));
  return h.digest('hex');
}

function ensureInstall() {
  const stamp = join(root, 'node_modules', '.kitts-stamp');
  const want = manifestHash();
  if (existsSync(stamp) && readFileSync(stamp, 'utf8') === want) return;
  console.log('kitts: installing dependencies');
  pnpm(['install', '--no-frozen-lockfile', '--reporter=append-only'], { ...quiet, env: { CI: '' } });
  // The hash from before the install: a manifest changed meanwhile installs again next time.
  writeFileSync(stamp, want);
}

function build() {
  run(
    process.execPath,
    [join(root, 'node_modules', 'typescript', 'bin', 'tsc'), '-b', 'tsconfig.build.json'],
    quiet,
    'tsc -b (build)',
  );
}

function setup() {
  ensurePnpm();
  ensureInstall();
  build();
}

// Registry servers the integration tests start themselves (see packages/testkit).
const servers = [
  { what: 'etcd', pkg: 'etcd-server', present: () => which('etcd') },
  { what: 'etcdctl', pkg: 'etcd-client', present: () => which('etcdctl') },
  {
    what: 'ZooKeeper',
    pkg: 'zookeeper',
    present: () => existsSync('/usr/share/java/zookeeper.jar') && which('java'),
  },
  {
    what: 'dnsmasq',
    pkg: 'dnsmasq-base',
    present: () => which('dnsmasq') || existsSync('/usr/sbin/dnsmasq'),
  },
  {
    what: 'Python gRPC (interop tests)',
    pkg: 'python3-grpcio',
    present: () =>
      existsSync('/usr/bin/python3') &&
      spawnSync('/usr/bin/python3', ['-c', 'import grpc'], quiet).status === 0,
  },
  { what: 'openssl', pkg: 'openssl', present: () => which('openssl') },
];

function which(cmd) {
  return spawnSync('sh', ['-c', `command -v ${cmd} || test -x /usr/sbin/${cmd}`], quiet).status === 0;
}

function ensureServers() {
  const missing = servers.filter((s) => !s.present());
  if (missing.length === 0) return;
  const pkgs = missing.map((s) => s.pkg);
  if (process.getuid?.() !== 0) {
    fail(
      `the integration tests need ${missing.map((s) => s.what).join(', ')}.\n` +
        `Install them with: sudo apt-get install -y --no-install-recommends ${pkgs.join(' ')}`,
    );
  }
  console.log(`kitts: installing ${pkgs.join(', ')} (Debian packages for the integration tests)`);
  const env = { DEBIAN_FRONTEND: 'noninteractive' };
  const args = ['install', '-y', '-q', '--no-install-recommends', ...pkgs];
  const first = spawnSync('apt-get', args, { ...quiet, env: { ...process.env, ...env } });
  if (first.status !== 0) {
    run('apt-get', ['update', '-q'], { ...quiet, env });
    run('apt-get', args, { ...quiet, env });
  }
}

function tool(name, ...args) {
  const bins = {
    tsc: ['typescript', 'bin', 'tsc'],
    biome: ['@biomejs', 'biome', 'bin', 'biome'],
    c8: ['c8', 'bin', 'c8.js'],
  };
  return [join(root, 'node_modules', ...bins[name]), ...args];
}

function test(extra) {
  setup();
  ensureServers();
  run(process.execPath, tool('tsc', '-p', 'tsconfig.json', '--noEmit'), quiet, 'type-check (tsc --noEmit)');
  run(
    process.execPath,
    tool('biome', 'check', '--error-on-warnings', '.'),
    quiet,
    'lint (biome check; `npm run format` fixes most)',
  );
  const mocha = join(root, 'node_modules', 'mocha', 'bin', 'mocha.js');
  const specs = extra.length > 0 ? extra : ['packages/*/test/**/*.test.ts', 'examples/*/test/**/*.test.ts'];
  const r = spawnSync(
    process.execPath,
    tool(
      'c8',
      '--reporter=text-summary',
      '--exclude=**/test/**',
      '--exclude=**/bench/**',
      process.execPath,
      mocha,
      ...specs,
    ),
    loud,
  );
  process.exit(r.status ?? 1);
}

function start() {
  setup();
  const r = spawnSync(
    process.execPath,
    ['--import', 'tsx', '--conditions=source', FLAGSHIP, ...process.argv.slice(3)],
    loud,
  );
  process.exit(r.status ?? 1);
}

function bench(extra) {
  setup();
  const r = spawnSync(
    process.execPath,
    ['--import', 'tsx', '--conditions=source', join('bench', 'src', 'run.ts'), ...extra],
    loud,
  );
  process.exit(r.status ?? 1);
}

function docs() {
  setup();
  const typedoc = join(root, 'node_modules', 'typedoc', 'bin', 'typedoc');
  const r = spawnSync(process.execPath, [typedoc, '--logLevel', 'Warn'], loud);
  if (r.status === 0) console.log('kitts: API reference written to docs/api/index.html');
  process.exit(r.status ?? 1);
}

// The long reliability soak (packages/reliability): `npm run soak -- --duration 300`.
function soak(extra) {
  setup();
  ensureServers();
  const runner = join('packages', 'reliability', 'src', 'soak.ts');
  const r = spawnSync(process.execPath, ['--import', 'tsx', '--conditions=source', runner, ...extra], loud);
  process.exit(r.status ?? 1);
}

const [cmd, ...rest] = process.argv.slice(2);
switch (cmd) {
  case 'setup':
    setup();
    break;
  case 'test':
    test(rest);
    break;
  case 'start':
    start();
    break;
  case 'bench':
    bench(rest);
    break;
  case 'docs':
    docs();
    break;
  case 'soak':
    soak(rest);
    break;
  default:
    fail(`unknown command ${cmd ?? '(none)'}; use setup, start, test or bench`);
}
