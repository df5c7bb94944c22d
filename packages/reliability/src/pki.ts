/**
 * A throw-away PKI made with openssl at test time: a CA with a server and a client
 * certificate, and a second, untrusted CA with its own server and client certificates,
 * for the refused cases. EC P-256 keys (fast to make), valid for two days, in a private
 * temporary directory that `remove()` deletes.
 */
import { execFile } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);

export interface TlsFiles {
  certFile: string;
  keyFile: string;
  cert: Buffer;
  key: Buffer;
}

export interface CertificateAuthority {
  certFile: string;
  cert: Buffer;
  /** Server certificate for 127.0.0.1 and localhost (also usable as a client certificate, as etcd needs). */
  server: TlsFiles;
  /** Client certificate (CN kitts-client). */
  client: TlsFiles;
}

export interface Pki {
  dir: string;
  /** The CA everyone trusts. */
  ca: CertificateAuthority;
  /** A CA nobody trusts, with certificates that look right otherwise. */
  rogue: CertificateAuthority;
  remove(): Promise<void>;
}

async function openssl(dir: string, args: readonly string[]): Promise<void> {
  try {
    await run('openssl', args, { cwd: dir });
  } catch (err) {
    const e = err as { code?: string; stderr?: string; message: string };
    if (e.code === 'ENOENT') {
      throw new Error('reliability: openssl was not found; install it with `apt-get install -y openssl`');
    }
    throw new Error(`reliability: openssl ${args.join(' ')} failed: ${e.stderr ?? e.message}`);
  }
}

const key = (dir: string, name: string) =>
  openssl(dir, ['genpkey', '-algorithm', 'EC', '-pkeyopt', 'ec_paramgen_curve:P-256', '-out', `${name}.key`]);

let serial = Date.now();

async function leaf(dir: string, ca: string, name: string, cn: string, ext: string): Promise<TlsFiles> {
  await key(dir, name);
  await openssl(dir, ['req', '-new', '-key', `${name}.key`, '-subj', `/CN=${cn}`, '-out', `${name}.csr`]);
  await writeFile(join(dir, `${name}.ext`), ext);
  await openssl(dir, [
    'x509',
    '-req',
    '-in',
    `${name}.csr`,
    '-CA',
    `${ca}.crt`,
    '-CAkey',
    `${ca}.key`,
    '-set_serial',
    String(serial++),
    '-days',
    '2',
    '-sha256',
    '-extfile',
    `${name}.ext`,
    '-out',
    `${name}.crt`,
  ]);
  const certFile = join(dir, `${name}.crt`);
  const keyFile = join(dir, `${name}.key`);
  return { certFile, keyFile, cert: await readFile(certFile), key: await readFile(keyFile) };
}

async function authority(dir: string, name: string): Promise<CertificateAuthority> {
  await key(dir, name);
  await openssl(dir, [
    'req',
    '-x509',
    '-new',
    '-key',
    `${name}.key`,
    '-sha256',
    '-days',
    '2',
    '-subj',
    `/CN=${name}`,
    '-addext',
    'basicConstraints=critical,CA:TRUE',
    '-addext',
    'keyUsage=critical,keyCertSign,cRLSign',
    '-out',
    `${name}.crt`,
  ]);
  const [server, client] = await Promise.all([
    leaf(
      dir,
      name,
      `${name}-server`,
      'localhost',
      'subjectAltName=IP:127.0.0.1,DNS:localhost\nextendedKeyUsage=serverAuth,clientAuth\nbasicConstraints=CA:FALSE\nkeyUsage=critical,digitalSignature\n',
    ),
    leaf(
      dir,
      name,
      `${name}-client`,
      'kitts-client',
      'extendedKeyUsage=clientAuth\nbasicConstraints=CA:FALSE\nkeyUsage=critical,digitalSignature\n',
    ),
  ]);
  const certFile = join(dir, `${name}.crt`);
  return { certFile, cert: await readFile(certFile), server, client };
}

export async function createPki(): Promise<Pki> {
  const dir = await mkdtemp(join(tmpdir(), 'kitts-pki-'));
  try {
    const [ca, rogue] = await Promise.all([authority(dir, 'kitts-test-ca'), authority(dir, 'rogue-ca')]);
    return { dir, ca, rogue, remove: () => rm(dir, { recursive: true, force: true }) };
  } catch (err) {
    await rm(dir, { recursive: true, force: true });
    throw err;
  }
}
