/**
 * Turns the parsed Temporal security settings into connection options that both
 * `NativeConnection.connect` (the worker's Rust core) and `Connection.connect` (the CLI's grpc-js)
 * take: `{ address, tls, apiKey }`. Reads and checks every file first, so a mistake stops the
 * process with one line naming the variable and the path (a path is not a secret; the contents are,
 * and no message here ever includes them).
 */
import { X509Certificate, createPrivateKey } from 'node:crypto';
import { readFile, stat } from 'node:fs/promises';
import type { TLSConfig } from '@temporalio/client';
import { ConfigError, holdsSecret, type Config } from '../common/config.js';
import { checkApiKey, type SecurityFile } from '../common/temporal-security.js';

export interface TemporalConnectionOptions {
  address: string;
  /** false: plaintext. */
  tls: TLSConfig | false;
  apiKey?: string;
}

const CERTIFICATE = '-----BEGIN CERTIFICATE-----';
/** PKCS#8, PKCS#1 (RSA) and SEC1 (EC): the forms both OpenSSL (grpc-js) and rustls (the core) read. */
const PRIVATE_KEY = /-----BEGIN (?:RSA |EC )?PRIVATE KEY-----/;

function fail(file: SecurityFile, problem: string): never {
  // A value that looks like no file's name (no /, no dot, or long) may be the key itself, pasted
  // where its file's path belongs: not shown.
  const named = file.path.includes('/') || (file.path.includes('.') && file.path.length <= 64);
  const shown = named && !holdsSecret(file.path) ? `=${file.path}` : ' (its value, not shown, looks like no file name: the key itself, not a path?)';
  throw new ConfigError(`invalid configuration: ${file.variable}${shown}: ${problem}`);
}

async function readSecurityFile(file: SecurityFile): Promise<Buffer> {
  try {
    if ((await stat(file.path)).isDirectory()) fail(file, 'is a directory, not a file');
    const content = await readFile(file.path);
    if (content.length === 0) fail(file, 'the file is empty');
    return content;
  } catch (err) {
    if (err instanceof ConfigError) throw err;
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') fail(file, 'no such file');
    if (code === 'EACCES' || code === 'EPERM') fail(file, `cannot be read (permission denied for this process, uid ${process.getuid?.() ?? '?'})`);
    return fail(file, `cannot be read (${code ?? (err as Error).message})`);
  }
}

async function readCertificate(file: SecurityFile): Promise<{ pem: Buffer; first: X509Certificate }> {
  const pem = await readSecurityFile(file);
  const text = pem.toString('utf8');
  if (!text.includes(CERTIFICATE)) {
    if (PRIVATE_KEY.test(text)) fail(file, 'holds a private key, not a certificate (are the certificate and key variables swapped?)');
    fail(file, `not a PEM certificate (no "${CERTIFICATE}" line)`);
  }
  try {
    return { pem, first: new X509Certificate(pem) };
  } catch {
    return fail(file, 'not a valid PEM certificate: its BEGIN CERTIFICATE block does not decode');
  }
}

async function readPrivateKey(file: SecurityFile): Promise<Buffer> {
  const pem = await readSecurityFile(file);
  const text = pem.toString('utf8');
  if (text.includes('-----BEGIN ENCRYPTED PRIVATE KEY-----') || /^Proc-Type: 4,ENCRYPTED/m.test(text)) {
    fail(file, 'the private key is encrypted, and the Temporal SDK takes no passphrase: store it decrypted (openssl pkey -in <key> -out <new key>) with tight file permissions');
  }
  if (!PRIVATE_KEY.test(text)) {
    if (text.includes(CERTIFICATE)) fail(file, 'holds a certificate, not a private key (are the certificate and key variables swapped?)');
    fail(file, 'not a PEM private key (no "-----BEGIN ... PRIVATE KEY-----" line)');
  }
  try {
    createPrivateKey(pem);
  } catch {
    fail(file, 'not a valid PEM private key: its PRIVATE KEY block does not decode');
  }
  return pem;
}

async function clientCertPair(pair: { cert: SecurityFile; key: SecurityFile }): Promise<{ crt: Buffer; key: Buffer }> {
  const { pem: crt, first } = await readCertificate(pair.cert);
  const key = await readPrivateKey(pair.key);
  if (!first.checkPrivateKey(createPrivateKey(key))) {
    fail(pair.key, `is not the private key of the certificate in ${pair.cert.variable}=${pair.cert.path}`);
  }
  // Caught here, an expired certificate is named plainly; at the server it is only "bad certificate".
  const now = Date.now();
  if (Date.parse(first.validTo) < now) fail(pair.cert, `the client certificate expired on ${new Date(first.validTo).toISOString()}: renew it`);
  if (Date.parse(first.validFrom) > now) fail(pair.cert, `the client certificate is not valid before ${new Date(first.validFrom).toISOString()}`);
  return { crt, key };
}

async function apiKey(temporal: Config['temporal'], env: Record<string, string | undefined>): Promise<string | undefined> {
  const source = temporal.security.apiKey;
  if (!source) return undefined;
  if (source.variable === 'TEMPORAL_API_KEY') return checkApiKey(env.TEMPORAL_API_KEY ?? '', 'TEMPORAL_API_KEY');
  const text = (await readSecurityFile(source)).toString('utf8');
  if (text.trim() === '') fail(source, 'the file holds no key, only whitespace');
  return checkApiKey(text, `the key in ${source.variable}=${source.path}`);
}

/**
 * Connection options for `temporal` (from parseConfig). Throws ConfigError, one line, for a file that
 * is missing, unreadable, not PEM, or a key that does not match its certificate. `env` is where
 * TEMPORAL_API_KEY is read (the parsed config records only that it is there, never the key).
 */
export async function temporalConnectionOptions(
  temporal: Config['temporal'],
  env: Record<string, string | undefined> = process.env,
): Promise<TemporalConnectionOptions> {
  const { tls } = temporal.security;
  const key = await apiKey(temporal, env);
  const options: TemporalConnectionOptions = { address: temporal.address, tls: false, ...(key ? { apiKey: key } : {}) };
  if (!tls) return options;
  options.tls = {
    ...(tls.serverName ? { serverNameOverride: tls.serverName } : {}),
    ...(tls.serverCa ? { serverRootCACertificate: (await readCertificate(tls.serverCa)).pem } : {}),
    ...(tls.clientCertPair ? { clientCertPair: await clientCertPair(tls.clientCertPair) } : {}),
  };
  return options;
}
