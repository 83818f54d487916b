/**
 * How the worker and the CLI secure their connection to Temporal: TLS (system CAs or a custom CA,
 * server name override), mutual TLS (client certificate and key files) and API keys (Temporal Cloud).
 *
 * The variable names are Temporal's own (the `temporal` CLI and every SDK's environment
 * configuration read the same ones), so one environment file serves both `temporal` and pgkeeper.
 * The CLI's older names TEMPORAL_TLS_CA / _CERT / _KEY, which it still honours, are accepted too.
 *
 * Pure: reads an environment record and returns file paths and flags; the Node side
 * (client/temporal-connection-options.ts) reads the files. Nothing here holds a key or a
 * certificate, and no message ever shows the value of an API key.
 */
// A cycle with config.ts, which calls parseTemporalSecurity; harmless because neither module uses
// the other's exports while it is being evaluated, only inside functions.
import { ConfigError } from './config-error.js';

/** A file named by a variable: error messages name both, the path is not a secret (its content is). */
export interface SecurityFile {
  variable: string;
  path: string;
}

export interface TemporalTls {
  /** Server name (SNI and certificate check) when it differs from TEMPORAL_ADDRESS's host. */
  serverName: string | undefined;
  /** CA that signed the server's certificate; unset: the system's trusted CAs (Temporal Cloud). */
  serverCa: SecurityFile | undefined;
  /** Client certificate and its key for mutual TLS: both or neither. */
  clientCertPair: { cert: SecurityFile; key: SecurityFile } | undefined;
}

/** Where the API key is, never the key itself: the loader reads it when it connects. */
export type TemporalApiKeySource = { variable: 'TEMPORAL_API_KEY' } | { variable: 'TEMPORAL_API_KEY_FILE'; path: string };

export interface TemporalSecurity {
  /** undefined: plaintext (the dev server). */
  tls: TemporalTls | undefined;
  apiKey: TemporalApiKeySource | undefined;
}

/** Temporal's name first, then the older name the `temporal` CLI still reads. */
const FILE_VARIABLES = {
  serverCa: ['TEMPORAL_TLS_SERVER_CA_CERT_PATH', 'TEMPORAL_TLS_CA'],
  clientCert: ['TEMPORAL_TLS_CLIENT_CERT_PATH', 'TEMPORAL_TLS_CERT'],
  clientKey: ['TEMPORAL_TLS_CLIENT_KEY_PATH', 'TEMPORAL_TLS_KEY'],
} as const;

/**
 * Variables of Temporal's convention that pgkeeper deliberately does not take, each with the one
 * it takes instead: ignoring them would connect without the security the user asked for.
 */
const INLINE_PEM: Record<string, string> = {
  TEMPORAL_TLS_SERVER_CA_CERT_DATA: 'TEMPORAL_TLS_SERVER_CA_CERT_PATH',
  TEMPORAL_TLS_CA_DATA: 'TEMPORAL_TLS_SERVER_CA_CERT_PATH',
  TEMPORAL_TLS_CLIENT_CERT_DATA: 'TEMPORAL_TLS_CLIENT_CERT_PATH',
  TEMPORAL_TLS_CERT_DATA: 'TEMPORAL_TLS_CLIENT_CERT_PATH',
  TEMPORAL_TLS_CLIENT_KEY_DATA: 'TEMPORAL_TLS_CLIENT_KEY_PATH',
  TEMPORAL_TLS_KEY_DATA: 'TEMPORAL_TLS_CLIENT_KEY_PATH',
};

/** The variables this module takes, and those it refuses by name: for the worker's look for misspelt ones. */
export const TEMPORAL_SECURITY_VARIABLES = {
  taken: ['TEMPORAL_TLS', ...Object.values(FILE_VARIABLES).flat(), 'TEMPORAL_TLS_SERVER_NAME', 'TEMPORAL_API_KEY', 'TEMPORAL_API_KEY_FILE'],
  refused: ['TEMPORAL_TLS_DISABLE_HOST_VERIFICATION', ...Object.keys(INLINE_PEM)],
};

function fail(message: string): never {
  throw new ConfigError(`invalid configuration: ${message}`);
}

/** As parseConfig does, an empty variable counts as unset (`TEMPORAL_TLS= pgkeeper ...`). */
function read(env: Record<string, string | undefined>, name: string): string | undefined {
  const value = env[name];
  return value === undefined || value === '' ? undefined : value;
}

function file(env: Record<string, string | undefined>, [name, legacy]: readonly [string, string]): SecurityFile | undefined {
  const values = [name, legacy].flatMap((variable) => {
    const raw = read(env, variable);
    if (raw === undefined) return [];
    const path = raw.trim();
    if (path === '') fail(`${variable} is blank: give the path of a PEM file, or unset it`);
    return [{ variable, path }];
  });
  if (values.length === 2 && values[0]!.path !== values[1]!.path) {
    fail(`${name} and ${legacy} name different files (${values[0]!.path}, ${values[1]!.path}): set only ${name}`);
  }
  return values[0];
}

function tlsFlag(env: Record<string, string | undefined>): boolean | undefined {
  const raw = read(env, 'TEMPORAL_TLS');
  if (raw === undefined) return undefined;
  // The values Temporal's own environment configuration accepts.
  const value = raw.trim().toLowerCase();
  if (value === 'true' || value === '1') return true;
  if (value === 'false' || value === '0') return false;
  return fail(`TEMPORAL_TLS must be true or false (got ${JSON.stringify(raw)})`);
}

function serverName(env: Record<string, string | undefined>): string | undefined {
  const raw = read(env, 'TEMPORAL_TLS_SERVER_NAME');
  if (raw === undefined) return undefined;
  const name = raw.trim();
  if (name === '') fail('TEMPORAL_TLS_SERVER_NAME is blank: give the host name in the server\'s certificate, or unset it');
  if (/[\s/:]/.test(name)) {
    fail(`TEMPORAL_TLS_SERVER_NAME must be a host name as in the server's certificate, without scheme or port (got ${JSON.stringify(raw)})`);
  }
  return name;
}

function apiKey(env: Record<string, string | undefined>): TemporalApiKeySource | undefined {
  const inline = read(env, 'TEMPORAL_API_KEY');
  const fromFile = read(env, 'TEMPORAL_API_KEY_FILE');
  if (inline !== undefined && fromFile !== undefined) fail('TEMPORAL_API_KEY and TEMPORAL_API_KEY_FILE are both set: set only one');
  if (fromFile !== undefined) {
    const path = fromFile.trim();
    if (path === '') fail('TEMPORAL_API_KEY_FILE is blank: give the path of a file holding the API key, or unset it');
    return { variable: 'TEMPORAL_API_KEY_FILE', path };
  }
  if (inline === undefined) return undefined;
  // The value is never shown, not even in part: only what is wrong with it.
  checkApiKey(inline, 'TEMPORAL_API_KEY');
  return { variable: 'TEMPORAL_API_KEY' };
}

/**
 * An API key travels as `authorization: Bearer <key>`: one token of visible ASCII. Surrounding
 * whitespace (a trailing newline from a file) is tolerated and removed by the loader.
 */
export function checkApiKey(value: string, variable: string): string {
  const key = value.trim();
  if (key === '') fail(`${variable} is blank: give the API key, or unset it`);
  if (!/^[\x21-\x7e]+$/.test(key)) {
    fail(`${variable} holds spaces, line breaks or non-ASCII characters inside the key (the value is not shown): it must be one token, as Temporal Cloud issues it`);
  }
  return key;
}

/** Parses and cross-checks the Temporal security variables; throws a one-line ConfigError naming the variable. */
export function parseTemporalSecurity(env: Record<string, string | undefined>): TemporalSecurity {
  for (const [inline, instead] of Object.entries(INLINE_PEM)) {
    if (read(env, inline) !== undefined) {
      fail(`${inline} is not supported: pgkeeper reads certificates and keys from files; write it to a file and set ${instead} to its path`);
    }
  }
  const noVerify = read(env, 'TEMPORAL_TLS_DISABLE_HOST_VERIFICATION');
  if (noVerify !== undefined && !/^(false|0)$/i.test(noVerify.trim())) {
    fail('TEMPORAL_TLS_DISABLE_HOST_VERIFICATION is not supported (the TypeScript SDK always verifies the server): set TEMPORAL_TLS_SERVER_NAME to a name in the server\'s certificate instead');
  }

  const flag = tlsFlag(env);
  const serverCa = file(env, FILE_VARIABLES.serverCa);
  const cert = file(env, FILE_VARIABLES.clientCert);
  const key = file(env, FILE_VARIABLES.clientKey);
  const name = serverName(env);
  const apiKeySource = apiKey(env);

  if (cert && !key) fail(`${cert.variable} is set but TEMPORAL_TLS_CLIENT_KEY_PATH is not: mutual TLS needs the client certificate's private key too`);
  if (key && !cert) fail(`${key.variable} is set but TEMPORAL_TLS_CLIENT_CERT_PATH is not: mutual TLS needs the client certificate too, not only its key`);

  // Any TLS setting implies TLS, as an API key does (Temporal Cloud accepts nothing else).
  // TEMPORAL_TLS=false still allows an API key in plaintext, as Temporal's convention does
  // (e.g. to a TLS-terminating sidecar on localhost), but contradicts a TLS file or server name.
  const tlsSetting = [serverCa, cert, key].find((f) => f !== undefined)?.variable ?? (name !== undefined ? 'TEMPORAL_TLS_SERVER_NAME' : undefined);
  if (flag === false && tlsSetting) fail(`TEMPORAL_TLS=false contradicts ${tlsSetting}, which is a TLS setting: remove one of them`);
  const useTls = flag ?? (tlsSetting !== undefined || apiKeySource !== undefined);

  return {
    tls: useTls
      ? { serverName: name, serverCa, clientCertPair: cert && key ? { cert, key } : undefined }
      : undefined,
    apiKey: apiKeySource,
  };
}

/** For the worker's start line: how it connects, in words, with paths but never a key. */
export function describeTemporalSecurity(security: TemporalSecurity): string {
  const { tls, apiKey: key } = security;
  const parts = tls
    ? [
        tls.clientCertPair ? 'mutual TLS' : 'TLS',
        tls.serverCa ? `CA ${tls.serverCa.path}` : 'system CAs',
        ...(tls.serverName ? [`server name ${tls.serverName}`] : []),
        ...(tls.clientCertPair ? [`client certificate ${tls.clientCertPair.cert.path}`] : []),
      ]
    : ['plaintext'];
  if (key) parts.push(`API key from ${key.variable}`);
  return parts.join(', ');
}
