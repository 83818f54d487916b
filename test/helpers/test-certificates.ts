/**
 * Certificates for TLS tests, made with the `openssl` CLI into a temporary directory: a CA, a server
 * certificate for localhost/127.0.0.1 signed by it, a client certificate signed by it, and a second,
 * unrelated CA with its own client certificate (the "wrong CA" case). `remove()` deletes them all.
 *
 * Each certificate gets a config file of its own rather than `-addext`, because `req -x509` would
 * otherwise add the default config's CA extensions to leaf certificates too, and rustls (the worker's
 * Rust core) refuses a CA certificate presented as a server or client certificate.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';

export interface CertificatePair {
  /** PEM certificate file. */
  cert: string;
  /** PEM private key file (PKCS#8, unencrypted). */
  key: string;
}

export interface TestCertificates {
  dir: string;
  ca: CertificatePair;
  server: CertificatePair;
  client: CertificatePair;
  otherCa: CertificatePair;
  /** Signed by otherCa: a well-formed client certificate the server's CA never issued. */
  otherClient: CertificatePair;
  remove(): void;
}

function openssl(args: string[]): void {
  execFileSync('openssl', args, { stdio: ['ignore', 'ignore', 'pipe'] });
}

function makeCertificate(
  dir: string,
  name: string,
  commonName: string,
  extensions: string[],
  issuer?: CertificatePair,
): CertificatePair {
  const pair = { cert: path.join(dir, `${name}.pem`), key: path.join(dir, `${name}.key`) };
  const config = path.join(dir, `${name}.cnf`);
  writeFileSync(
    config,
    ['[req]', 'distinguished_name = dn', 'x509_extensions = ext', 'prompt = no', '[dn]', `CN = ${commonName}`, '[ext]', ...extensions, ''].join('\n'),
  );
  // EC P-256: fast to generate, and accepted by both OpenSSL (grpc-js, node:tls) and rustls (the Rust core).
  openssl([
    'req', '-x509', '-new', '-config', config, '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes',
    '-keyout', pair.key, '-out', pair.cert, '-days', '2',
    ...(issuer ? ['-CA', issuer.cert, '-CAkey', issuer.key] : []),
  ]);
  return pair;
}

const CA_EXTENSIONS = ['basicConstraints = critical, CA:TRUE', 'keyUsage = critical, keyCertSign, cRLSign', 'subjectKeyIdentifier = hash'];
const LEAF = ['basicConstraints = critical, CA:FALSE', 'keyUsage = critical, digitalSignature', 'subjectKeyIdentifier = hash', 'authorityKeyIdentifier = keyid'];

export function makeTestCertificates(): TestCertificates {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'pgkeeper-tls-'));
  try {
    const ca = makeCertificate(dir, 'ca', 'pgkeeper test CA', CA_EXTENSIONS);
    const server = makeCertificate(dir, 'server', 'localhost', [...LEAF, 'extendedKeyUsage = serverAuth', 'subjectAltName = DNS:localhost, IP:127.0.0.1'], ca);
    const client = makeCertificate(dir, 'client', 'pgkeeper-worker', [...LEAF, 'extendedKeyUsage = clientAuth'], ca);
    const otherCa = makeCertificate(dir, 'other-ca', 'some other CA', CA_EXTENSIONS);
    const otherClient = makeCertificate(dir, 'other-client', 'pgkeeper-worker', [...LEAF, 'extendedKeyUsage = clientAuth'], otherCa);
    return { dir, ca, server, client, otherCa, otherClient, remove: () => rmSync(dir, { recursive: true, force: true }) };
  } catch (err) {
    rmSync(dir, { recursive: true, force: true });
    throw err;
  }
}
