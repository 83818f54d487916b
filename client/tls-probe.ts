/**
 * One TLS handshake with node:tls, the way gRPC would make it (same CA, client certificate, server
 * name, ALPN h2), to find out WHY a connection failed. grpc-js keeps every TLS error to itself and
 * reports only "Failed to connect before the deadline"; node:tls uses the same OpenSSL and says
 * exactly what went wrong. Used only after a connection has failed, never to connect.
 */
import { isIP } from 'node:net';
import tls, { type PeerCertificate } from 'node:tls';
import type { TemporalConnectionOptions } from './temporal-connection-options.js';

export type TlsProbeResult =
  /** TLS worked and the server spoke HTTP/2: the failure was not about TLS. */
  | { kind: 'ok' }
  /** No TCP connection at all (refused, no route, DNS): not about TLS either. */
  | { kind: 'unreachable'; code: string }
  | { kind: 'untrusted'; code: string; issuer: string | undefined }
  | { kind: 'name-mismatch'; expected: string; names: string[] }
  /** The server sent a TLS alert, e.g. "certificate required", "bad certificate", "unknown ca". */
  | { kind: 'alert'; alert: string }
  /** Handshake done, then the server hung up without a word: how some servers refuse a client certificate. */
  | { kind: 'closed-after-handshake' }
  /** The server broke off the handshake or answered something that is not TLS. */
  | { kind: 'not-tls'; code: string }
  | { kind: 'timeout' }
  | { kind: 'other'; message: string };

/** X509_V_ERR_* names that mean "no trusted chain to this certificate". */
const UNTRUSTED = new Set([
  'UNABLE_TO_VERIFY_LEAF_SIGNATURE',
  'UNABLE_TO_GET_ISSUER_CERT',
  'UNABLE_TO_GET_ISSUER_CERT_LOCALLY',
  'SELF_SIGNED_CERT_IN_CHAIN',
  'DEPTH_ZERO_SELF_SIGNED_CERT',
  'CERT_UNTRUSTED',
  'CERT_SIGNATURE_FAILURE',
  'CERT_HAS_EXPIRED',
  'CERT_NOT_YET_VALID',
]);
const NOT_TLS = new Set(['ERR_SSL_WRONG_VERSION_NUMBER', 'ERR_SSL_PACKET_LENGTH_TOO_LONG', 'ERR_SSL_UNEXPECTED_EOF_WHILE_READING', 'ECONNRESET', 'EPIPE']);
const UNREACHABLE = new Set(['ECONNREFUSED', 'EHOSTUNREACH', 'ENETUNREACH', 'ENOTFOUND', 'EAI_AGAIN', 'ETIMEDOUT']);

/** The client half of an HTTP/2 connection's start: preface and an empty SETTINGS frame. A server answers it at once. */
const HTTP2_PREFACE = Buffer.concat([Buffer.from('PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n'), Buffer.from([0, 0, 0, 4, 0, 0, 0, 0, 0])]);

function subjectAltNames(cert: PeerCertificate): string[] {
  return (cert.subjectaltname ?? '')
    .split(', ')
    .filter(Boolean)
    .map((entry) => entry.replace(/^(DNS|IP Address):/, ''));
}

function classifyError(err: NodeJS.ErrnoException, handshakeDone: boolean): TlsProbeResult {
  const code = err.code ?? '';
  const alert = /^ERR_SSL_(?:SSLV3|TLSV1|TLSV13)_ALERT_(.+)$/.exec(code)?.[1];
  if (alert) return { kind: 'alert', alert: alert.toLowerCase().replace(/_/g, ' ') };
  if (UNREACHABLE.has(code) && !handshakeDone) return { kind: 'unreachable', code };
  if (handshakeDone && (code === 'ECONNRESET' || code === 'EPIPE')) return { kind: 'closed-after-handshake' };
  if (NOT_TLS.has(code) || /disconnected before secure TLS connection/.test(err.message)) return { kind: 'not-tls', code: code || 'EOF' };
  return { kind: 'other', message: err.message };
}

/**
 * Probes `options.address` with `options.tls` (or, for a plaintext configuration, plain TLS with
 * no verification: only to learn whether the server speaks TLS at all).
 */
export function probeTls(options: TemporalConnectionOptions, timeoutMs = 5_000): Promise<TlsProbeResult> {
  const i = options.address.lastIndexOf(':');
  const host = options.address.slice(0, i).replace(/^\[|\]$/g, '');
  const port = Number(options.address.slice(i + 1));
  const config = options.tls || {};
  const serverName = config.serverNameOverride ?? host;
  return new Promise((resolve) => {
    let handshakeDone = false;
    const finish = (result: TlsProbeResult) => {
      clearTimeout(timer);
      socket.destroy();
      resolve(result);
    };
    const socket = tls.connect({
      host,
      port,
      // SNI must be a name, not an address (RFC 6066); the certificate check below covers both.
      ...(isIP(serverName) ? {} : { servername: serverName }),
      ALPNProtocols: ['h2'],
      ...(config.serverRootCACertificate ? { ca: Buffer.from(config.serverRootCACertificate) } : {}),
      ...(config.clientCertPair ? { cert: Buffer.from(config.clientCertPair.crt), key: Buffer.from(config.clientCertPair.key) } : {}),
      // Verified by hand after the handshake, so the probe can tell which check failed.
      rejectUnauthorized: false,
      checkServerIdentity: () => undefined,
    });
    const timer = setTimeout(() => finish({ kind: 'timeout' }), timeoutMs);
    socket.on('secureConnect', () => {
      handshakeDone = true;
      if (options.tls) {
        const cert = socket.getPeerCertificate();
        if (!socket.authorized) {
          const code = String((socket.authorizationError as unknown as string | Error | null) ?? 'UNTRUSTED');
          if (UNTRUSTED.has(code)) return finish({ kind: 'untrusted', code, issuer: [cert.issuer?.CN].flat()[0] });
          return finish({ kind: 'other', message: `server certificate refused: ${code}` });
        }
        if (tls.checkServerIdentity(serverName, cert)) return finish({ kind: 'name-mismatch', expected: serverName, names: subjectAltNames(cert) });
      }
      // With TLS 1.3 the server checks a client certificate after the client's handshake is done:
      // its verdict arrives as the answer to the first bytes (SETTINGS), an alert, or a hang-up.
      socket.write(HTTP2_PREFACE);
    });
    socket.once('data', () => finish({ kind: 'ok' }));
    socket.on('error', (err: NodeJS.ErrnoException) => finish(classifyError(err, handshakeDone)));
    socket.on('end', () => finish(handshakeDone ? { kind: 'closed-after-handshake' } : { kind: 'not-tls', code: 'EOF' }));
  });
}
