/**
 * A TLS HTTP/2 proxy that reads each gRPC request's headers before passing it on to the plaintext
 * dev server: the dev server ignores API keys, so this is where a test sees that a client really
 * sends `authorization: Bearer <key>`. Every stream is forwarded whole: request body, response
 * headers, body and trailers (where gRPC puts its status), and cancellation both ways.
 */
import http2 from 'node:http2';
import { readFileSync } from 'node:fs';
import type net from 'node:net';
import type { CertificatePair } from './test-certificates.js';

export interface SeenRequest {
  /** The gRPC method, e.g. /temporal.api.workflowservice.v1.WorkflowService/StartWorkflowExecution. */
  path: string;
  authorization: string | undefined;
}

export interface GrpcHeaderProxy {
  address: string;
  seen: SeenRequest[];
  close(): Promise<void>;
}

/** Pseudo-headers belong to one HTTP/2 hop; everything else (te, grpc-timeout, metadata) passes unchanged. */
function withoutPseudoHeaders(headers: http2.IncomingHttpHeaders): http2.OutgoingHttpHeaders {
  return Object.fromEntries(Object.entries(headers).filter(([name]) => !name.startsWith(':')));
}

export async function startGrpcHeaderProxy(options: { target: string; server: CertificatePair; clientCa?: string }): Promise<GrpcHeaderProxy> {
  const seen: SeenRequest[] = [];
  const upstream = http2.connect(`http://${options.target}`);
  upstream.on('error', () => undefined); // the dev server going away at teardown
  const sessions = new Set<http2.ServerHttp2Session>();
  const server = http2.createSecureServer({
    cert: readFileSync(options.server.cert),
    key: readFileSync(options.server.key),
    ...(options.clientCa ? { requestCert: true, rejectUnauthorized: true, ca: readFileSync(options.clientCa) } : {}),
  });
  server.on('session', (session) => {
    sessions.add(session);
    session.on('close', () => sessions.delete(session));
    session.on('error', () => undefined);
  });
  server.on('stream', (stream, headers) => {
    const auth = headers.authorization;
    seen.push({ path: String(headers[':path']), authorization: Array.isArray(auth) ? auth.join(',') : auth });
    stream.on('error', () => undefined);
    const request = upstream.request({ ...withoutPseudoHeaders(headers), ':method': headers[':method'], ':path': headers[':path'] });
    request.on('error', () => undefined);
    stream.pipe(request);
    let trailers: http2.OutgoingHttpHeaders = {};
    request.on('trailers', (received) => {
      trailers = withoutPseudoHeaders(received);
    });
    request.on('response', (received, flags) => {
      const response = { ':status': received[':status'], ...withoutPseudoHeaders(received) };
      // A trailers-only response (a gRPC error without a body) ends the stream with its headers.
      if (flags & http2.constants.NGHTTP2_FLAG_END_STREAM) return stream.respond(response, { endStream: true });
      stream.respond(response, { waitForTrailers: true });
      stream.on('wantTrailers', () => stream.sendTrailers(trailers));
      request.on('data', (chunk: Buffer) => stream.write(chunk));
      request.on('end', () => stream.end());
    });
    // A cancelled call (the client's RST_STREAM) cancels upstream, and the other way round.
    stream.on('close', () => {
      if (!request.closed) request.close(http2.constants.NGHTTP2_CANCEL);
    });
    request.on('close', () => {
      const code = request.rstCode ?? http2.constants.NGHTTP2_NO_ERROR;
      if (code !== http2.constants.NGHTTP2_NO_ERROR && !stream.closed) stream.close(code);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as net.AddressInfo;
  return {
    // A name, not 127.0.0.1: grpc-js would send an IP address as TLS server name, which Node warns about (DEP0123).
    address: `localhost:${port}`,
    seen,
    async close() {
      for (const session of sessions) session.destroy();
      upstream.destroy();
      await new Promise((resolve) => server.close(resolve));
    },
  };
}
