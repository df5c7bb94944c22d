// Publishability: pack @kitts/endpoint as npm would publish it, install the tarball into a
// scratch project outside the workspace, import it with plain Node, type-check a consumer.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { expect } from 'chai';

const pkgDir = fileURLToPath(new URL('..', import.meta.url));
const repo = join(pkgDir, '..', '..');
const run = (cmd: string, args: string[], cwd: string) =>
  execFileSync(cmd, args, {
    cwd,
    encoding: 'utf8',
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { ...process.env, CI: '' },
  });

describe('@kitts/endpoint as a published package', function () {
  this.timeout(120_000);
  let scratch: string;

  before(() => {
    scratch = mkdtempSync(join(tmpdir(), 'kitts-pack-'));
    run(
      process.execPath,
      [join(repo, 'node_modules/typescript/bin/tsc'), '-b', 'tsconfig.build.json'],
      pkgDir,
    );
    run(
      process.execPath,
      [join(repo, '.tools/pnpm/node_modules/pnpm/bin/pnpm.cjs'), 'pack', '--pack-destination', scratch],
      pkgDir,
    );
  });

  after(() => rmSync(scratch, { recursive: true, force: true }));

  it('installs from its tarball, imports in plain Node and type-checks a consumer', () => {
    const tarball = readdirSync(scratch).find((f) => f.endsWith('.tgz'));
    expect(tarball, 'pnpm pack produced a tarball').to.be.a('string');
    writeFileSync(
      join(scratch, 'package.json'),
      JSON.stringify({ name: 'consumer', private: true, type: 'module' }),
    );
    run(
      'npm',
      ['install', '--no-audit', '--no-fund', '--offline', '--loglevel=error', `./${tarball}`],
      scratch,
    );

    writeFileSync(
      join(scratch, 'main.ts'),
      [
        "import { background, chain, type Endpoint, type Middleware, withTimeout, DecodeError } from '@kitts/endpoint';",
        'const double: Endpoint<number, number> = async (_ctx, n) => n * 2;',
        'const plusOne: Middleware<number, number> = (next) => async (ctx, n) => (await next(ctx, n)) + 1;',
        'const [ctx, cancel] = withTimeout(background(), 1000);',
        'const out: number = await chain(plusOne)(double)(ctx, 20);',
        'cancel();',
        'const code: string = new DecodeError().code;',
        'console.log(out, code);',
      ].join('\n'),
    );
    writeFileSync(
      join(scratch, 'tsconfig.json'),
      JSON.stringify({
        compilerOptions: {
          target: 'ES2022',
          module: 'NodeNext',
          moduleResolution: 'NodeNext',
          strict: true,
          noEmit: true,
          types: [],
        },
        files: ['main.ts'],
      }),
    );
    // Type-check against the installed .d.ts files (not the workspace sources).
    run(process.execPath, [join(repo, 'node_modules/typescript/bin/tsc'), '-p', '.'], scratch);
    const mjs = join(scratch, 'main.mjs');
    writeFileSync(
      mjs,
      "import { background, chain, withTimeout, DecodeError } from '@kitts/endpoint';\n" +
        'const [ctx, cancel] = withTimeout(background(), 1000);\n' +
        'const out = await chain((next) => async (c, n) => (await next(c, n)) + 1)(async (_c, n) => n * 2)(ctx, 20);\n' +
        'cancel();\nconsole.log(out, new DecodeError().code);\n',
    );
    expect(run(process.execPath, [mjs], scratch).trim()).to.equal('41 DECODE');
    const files = run('tar', ['-tzf', tarball!], scratch);
    expect(files).to.include('package/dist/index.js');
    expect(files).to.include('package/dist/index.d.ts');
    expect(files).to.include('package/README.md');
    expect(files).not.to.include('package/test/');
  });
});
