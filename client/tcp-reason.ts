/**
 * Why a plaintext connection to Temporal failed, in the operating system's terms. grpc-js says only
 * "Failed to connect before the deadline", whatever the cause; one TCP connection tells a port
 * nothing listens on from a host name that does not resolve, a host that does not answer, and a
 * port that takes connections but is not Temporal's. Used only after a connection has failed.
 */
import net from 'node:net';

const PROBE_MS = 3_000;

const REASONS: Record<string, string> = {
  ECONNREFUSED: 'connection refused: nothing listens on that port',
  ENOTFOUND: 'the host name does not resolve',
  EAI_AGAIN: 'the host name could not be resolved now (DNS)',
  EHOSTUNREACH: 'no route to the host',
  ENETUNREACH: 'no route to the host',
};

/** `address`: host:port, or [IPv6]:port. */
export async function tcpReason(address: string): Promise<string | undefined> {
  const match = /^\[(.+)\]:(\d+)$/.exec(address) ?? /^(.+):(\d+)$/.exec(address);
  if (!match) return undefined;
  return new Promise((resolve) => {
    const socket = net.connect({ host: match[1]!, port: Number(match[2]) });
    const done = (reason: string | undefined) => {
      socket.destroy();
      resolve(reason);
    };
    socket.setTimeout(PROBE_MS, () => done(`no answer within ${PROBE_MS / 1000} s: a host that is down, or a firewall`));
    socket.once('connect', () => done("it takes connections but did not answer as Temporal does: is it Temporal's gRPC port (7233 unless changed), not its UI's or another program's?"));
    socket.once('error', (err: NodeJS.ErrnoException) => done(REASONS[err.code ?? ''] ?? err.message));
  });
}
