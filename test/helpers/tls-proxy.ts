/**
 * A TLS-terminating TCP proxy in front of the dev server, which speaks plaintext gRPC only.
 * Clients see a real TLS endpoint (ALPN h2, as gRPC requires); bytes after the handshake are piped
 * unchanged to the dev server. With `clientCa` it demands a client certificate signed by that CA
 * (mutual TLS), the way a secured Temporal cluster or Temporal Cloud does.
 */
import { readFileSync } from 'node:fs';
import net from 'node:net';
import tls from 'node:tls';
import type { CertificatePair } from './test-certificates.js';

export interface TlsProxy {
  /** host:port to give a client, e.g. as TEMPORAL_ADDRESS. */
  address: string;
  /** Why handshakes failed, as the proxy saw them (OpenSSL's reasons), newest last. */
  handshakeErrors: string[];
  /** Connections that completed the handshake (and were accepted) so far: proof traffic went through TLS. */
  secureConnections(): number;
  close(): Promise<void>;
}

export interface TlsProxyOptions {
  /** The plaintext host:port to forward to (the dev server). */
  target: string;
  server: CertificatePair;
  /** Require a client certificate signed by this CA file. */
  clientCa?: string;
}

export async function startTlsProxy(options: TlsProxyOptions): Promise<TlsProxy> {
  const [targetHost, targetPort] = splitAddress(options.target);
  const handshakeErrors: string[] = [];
  const sockets = new Set<net.Socket>();
  let accepted = 0;
  const server = tls.createServer(
    {
      cert: readFileSync(options.server.cert),
      key: readFileSync(options.server.key),
      ALPNProtocols: ['h2'],
      ...(options.clientCa ? { requestCert: true, rejectUnauthorized: true, ca: readFileSync(options.clientCa) } : {}),
    },
    (client) => {
      accepted += 1;
      const upstream = net.connect(targetPort, targetHost);
      for (const s of [client, upstream]) {
        sockets.add(s);
        s.on('close', () => sockets.delete(s));
        s.on('error', () => undefined); // a peer going away is ordinary here; both sides are destroyed below
      }
      client.pipe(upstream).on('close', () => client.destroy());
      upstream.pipe(client).on('close', () => upstream.destroy());
      client.on('close', () => upstream.destroy());
      upstream.on('close', () => client.destroy());
    },
  );
  server.on('tlsClientError', (err) => handshakeErrors.push(err.message));
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as net.AddressInfo;
  return {
    // A name, not 127.0.0.1: grpc-js would send an IP address as TLS server name, which Node warns about (DEP0123).
    address: `localhost:${port}`,
    handshakeErrors,
    secureConnections: () => accepted,
    async close() {
      for (const s of sockets) s.destroy();
      await new Promise((resolve) => server.close(resolve));
    },
  };
}

export function splitAddress(address: string): [string, number] {
  const i = address.lastIndexOf(':');
  return [address.slice(0, i), Number(address.slice(i + 1))];
}
