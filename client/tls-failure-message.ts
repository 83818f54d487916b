/**
 * Says what went wrong with TLS, in TLS terms, when connecting to Temporal failed.
 *
 * The two SDK connections fail differently (measured against a node:tls endpoint, see
 * test/temporal-tls.test.ts):
 * - the worker's Rust core (tonic + rustls) names the problem, in Rust debug syntax:
 *   `InvalidCertificate(UnknownIssuer)`, `NotValidForNameContext { expected: DnsName("x"), presented: [...] }`,
 *   `received fatal alert: CertificateRequired`; but a server that hangs up after the handshake
 *   (node:tls refusing a client certificate) is only "peer closed connection without sending TLS close_notify";
 * - the CLI's grpc-js says nothing but "Failed to connect before the deadline", whatever the cause.
 * So the core's words are mapped where they are clear, and otherwise one handshake with node:tls
 * (client/tls-probe.ts) finds out. Messages name variables and paths, never file contents or keys.
 */
import type { TemporalSecurity } from '../common/temporal-security.js';
import type { TemporalConnectionOptions } from './temporal-connection-options.js';
import { probeTls, type TlsProbeResult } from './tls-probe.js';

/** Alerts with which a server refuses the client certificate it was given. */
const CLIENT_CERT_REFUSED = new Set(['bad certificate', 'unknown ca', 'certificate unknown', 'access denied', 'certificate expired', 'certificate revoked', 'unsupported certificate']);

function messages(err: unknown): string {
  const parts: string[] = [];
  for (let e = err as { message?: unknown; cause?: unknown } | undefined; e && parts.length < 10; e = e.cause as typeof e) parts.push(String(e.message ?? e));
  return parts.join(' <- ');
}

/** A name in rustls's debug form: DnsName("x"), or an IPv4/IPv6 address as the bytes of it. */
const SERVER_NAME = /DnsName\(\\*"([^"\\]+)\\*"\)|IpAddress\(V4\(Ipv4Addr\(\[([\d,\s]+)\]\)\)\)|IpAddress\(V6\(Ipv6Addr\(\[([\d,\s]+)\]\)\)\)|IpAddress\(([^()]+)\)/g;

function serverName(m: RegExpMatchArray): string {
  if (m[1]) return m[1];
  const bytes = (m[2] ?? m[3])?.split(',').map((b) => Number(b.trim()));
  if (bytes && m[2]) return bytes.join('.');
  if (bytes) return Array.from({ length: 8 }, (_, i) => ((bytes[2 * i]! << 8) | bytes[2 * i + 1]!).toString(16)).join(':');
  return m[4]!;
}

/** rustls's words, as the core reports them, turned into the probe's verdicts. */
export function classifyCoreError(text: string): TlsProbeResult | undefined {
  if (/InvalidCertificate\(UnknownIssuer\)/.test(text)) return { kind: 'untrusted', code: 'UnknownIssuer', issuer: undefined };
  if (/InvalidCertificate\(Expired/.test(text)) return { kind: 'untrusted', code: 'CERT_HAS_EXPIRED', issuer: undefined };
  if (/NotValidForName/.test(text)) {
    // expected: DnsName("x") or IpAddress(V4(Ipv4Addr([127, 0, 0, 1]))); presented: a list of either,
    // each perhaps quoted again ("DnsName(\"x\")").
    const context = /NotValidForNameContext\s*\{\s*expected:\s*(.*?),\s*presented:\s*\[(.*?)\]\s*\}/.exec(text);
    const names = [...(context?.[2] ?? '').matchAll(SERVER_NAME)].map(serverName);
    const expected = context ? [...context[1]!.matchAll(SERVER_NAME)].map(serverName)[0] : undefined;
    return { kind: 'name-mismatch', expected: expected ?? '?', names };
  }
  const alert = /received fatal alert: (\w+)/.exec(text)?.[1];
  // CertificateRequired -> "certificate required", UnknownCA -> "unknown ca": the names node:tls uses.
  if (alert) return { kind: 'alert', alert: alert.replace(/([a-z])([A-Z])/g, '$1 $2').toLowerCase() };
  return undefined;
}

function describe(result: TlsProbeResult, options: TemporalConnectionOptions, security: TemporalSecurity): string | undefined {
  const failed = `TLS handshake with Temporal at ${options.address} failed`;
  const cert = security.tls?.clientCertPair?.cert;
  const certName = cert ? `${cert.variable}=${cert.path}` : undefined;
  if (!security.tls) {
    // Plaintext configured: the probe only asked whether the server speaks TLS.
    if (result.kind === 'not-tls' || result.kind === 'unreachable' || result.kind === 'timeout' || result.kind === 'other') return undefined;
    return `Temporal at ${options.address} speaks TLS, but pgkeeper connects in plaintext: set TEMPORAL_TLS=true (and TEMPORAL_TLS_SERVER_CA_CERT_PATH if a private CA signed its certificate)`;
  }
  switch (result.kind) {
    case 'untrusted': {
      const ca = security.tls.serverCa;
      const issuer = result.issuer ? ` (issued by "${result.issuer}")` : '';
      if (result.code === 'CERT_HAS_EXPIRED') return `${failed}: certificate not trusted: the server's certificate${issuer} has expired`;
      return `${failed}: certificate not trusted: the server's certificate${issuer} is not signed by ${ca ? `the CA in ${ca.variable}=${ca.path}` : 'a CA this system trusts'}; set TEMPORAL_TLS_SERVER_CA_CERT_PATH to the CA that signed it`;
    }
    case 'name-mismatch':
      return `${failed}: server name mismatch: the server's certificate is for ${result.names.join(', ') || 'other names'}, not "${result.expected === '?' ? options.address.replace(/:\d+$/, '') : result.expected}"; set TEMPORAL_TLS_SERVER_NAME to one of its names`;
    case 'alert':
      if (result.alert === 'certificate required') {
        return `${failed}: client certificate required: the server demands mutual TLS; set TEMPORAL_TLS_CLIENT_CERT_PATH and TEMPORAL_TLS_CLIENT_KEY_PATH to a certificate it trusts and its key`;
      }
      if (certName && CLIENT_CERT_REFUSED.has(result.alert)) {
        return `${failed}: client certificate refused (TLS alert "${result.alert}"): the server does not accept ${certName}; it must be signed by a CA the server trusts for clients, and be current`;
      }
      return `${failed}: the server ended it with TLS alert "${result.alert}"`;
    case 'closed-after-handshake':
      if (certName) {
        return `${failed}: client certificate refused: the server hung up right after the handshake without a word, which is how it refuses a client certificate it does not trust; check that ${certName} is signed by a CA the server trusts for clients`;
      }
      return `${failed}: the server hung up right after the handshake; if it demands mutual TLS, set TEMPORAL_TLS_CLIENT_CERT_PATH and TEMPORAL_TLS_CLIENT_KEY_PATH`;
    case 'not-tls':
      return `${failed}: the server does not speak TLS there (${result.code}); a dev server speaks plaintext: unset TEMPORAL_TLS and the TLS variables, or point TEMPORAL_ADDRESS at the TLS endpoint`;
    default:
      return undefined; // ok, unreachable, timeout, other: not a TLS problem we can name
  }
}

/**
 * A one-line TLS explanation of a failed connection, or undefined when the failure is not about TLS
 * (the caller then says the server cannot be reached). With plaintext configured it still notices a
 * server that speaks only TLS.
 */
export async function tlsFailureMessage(err: unknown, options: TemporalConnectionOptions, security: TemporalSecurity): Promise<string | undefined> {
  const fromCore = security.tls ? classifyCoreError(messages(err)) : undefined;
  return describe(fromCore ?? (await probeTls(options)), options, security);
}
