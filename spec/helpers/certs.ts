/**
 * Throwaway certificates for the TLS specs, made with the `openssl` command at run time in a fresh
 * temporary directory (the pretest provisioning checks that openssl is installed). Nothing here is
 * trusted outside the specs: the CA lives only as long as the test process, and its key is deleted
 * when the process exits. EC P-256 keys keep generation to a few milliseconds each.
 */
import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);

/** A PEM private key and certificate. */
export interface KeyPair {
  readonly key: string;
  readonly cert: string;
}

export interface TestCertificates {
  /** The spec CA: pass `ca.cert` as the `ca` option to trust it. */
  readonly ca: KeyPair;
  /** Signed by the spec CA for IP 127.0.0.1 and DNS localhost. */
  readonly server: KeyPair;
  /** Signed by the spec CA for `wrong.invalid` only. */
  readonly wrongName: KeyPair;
  /** Signed by the spec CA for 127.0.0.1/localhost, already expired. */
  readonly expired: KeyPair;
  /** Self-signed for 127.0.0.1/localhost: no CA vouches for it. */
  readonly selfSigned: KeyPair;
  /** Signed by another CA nobody trusts, for 127.0.0.1/localhost. */
  readonly untrusted: KeyPair;
  /** The CA that signed `untrusted` (never given to a client). */
  readonly otherCa: KeyPair;
  /** A client certificate (extendedKeyUsage clientAuth) signed by the spec CA. */
  readonly client: KeyPair;
  /** Another client certificate signed by `otherCa`: a server trusting only the spec CA refuses it. */
  readonly strangerClient: KeyPair;
}

const LOOPBACK = 'subjectAltName=IP:127.0.0.1,DNS:localhost';
const EC = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes'];

let made: Promise<TestCertificates> | undefined;

/** The spec certificates, generated once per test process. */
export function testCertificates(): Promise<TestCertificates> {
  made ??= generate();
  return made;
}

async function generate(): Promise<TestCertificates> {
  const dir = mkdtempSync(join(tmpdir(), 'httplib2-ts-certs-'));
  process.once('exit', () => rmSync(dir, { recursive: true, force: true }));
  const file = (name: string) => join(dir, name);
  let serial = 1;

  const makeCa = async (name: string): Promise<KeyPair> => {
    await run('openssl', [
      'req', '-x509', ...EC, '-keyout', file(`${name}.key`), '-out', file(`${name}.pem`), '-days', '2',
      '-subj', `/CN=httplib2-ts spec ${name}`,
      '-addext', 'basicConstraints=critical,CA:TRUE', '-addext', 'keyUsage=critical,keyCertSign,cRLSign',
    ]);
    return read(name);
  };

  // `-days -1` puts notAfter before the signing time: a certificate that has already expired.
  const makeLeaf = async (name: string, issuer: string, ext: string, days = '2'): Promise<KeyPair> => {
    await run('openssl', ['req', '-new', ...EC, '-keyout', file(`${name}.key`), '-out', file(`${name}.csr`), '-subj', `/CN=${name}`]);
    writeFileSync(file(`${name}.ext`), `${ext}\n`);
    await run('openssl', [
      'x509', '-req', '-in', file(`${name}.csr`), '-CA', file(`${issuer}.pem`), '-CAkey', file(`${issuer}.key`),
      '-set_serial', String(++serial), '-days', days, '-extfile', file(`${name}.ext`), '-out', file(`${name}.pem`),
    ]);
    return read(name);
  };

  const read = (name: string): KeyPair => ({
    key: readFileSync(file(`${name}.key`), 'utf8'),
    cert: readFileSync(file(`${name}.pem`), 'utf8'),
  });

  const [ca, otherCa, selfSigned] = await Promise.all([
    makeCa('ca'),
    makeCa('other-ca'),
    run('openssl', [
      'req', '-x509', ...EC, '-keyout', file('self.key'), '-out', file('self.pem'), '-days', '2',
      '-subj', '/CN=localhost', '-addext', LOOPBACK,
    ]).then(() => read('self')),
  ]);
  const clientExt = 'extendedKeyUsage=clientAuth';
  const [server, wrongName, expired, untrusted, client, strangerClient] = await Promise.all([
    makeLeaf('server', 'ca', LOOPBACK),
    makeLeaf('wrong-name', 'ca', 'subjectAltName=DNS:wrong.invalid'),
    makeLeaf('expired', 'ca', LOOPBACK, '-1'),
    makeLeaf('untrusted', 'other-ca', LOOPBACK),
    makeLeaf('client', 'ca', clientExt),
    makeLeaf('stranger-client', 'other-ca', clientExt),
  ]);
  return { ca, server, wrongName, expired, selfSigned, untrusted, otherCa, client, strangerClient };
}
