import { readFileSync } from 'node:fs';
import net from 'node:net';

/** The kernel's ephemeral range: where outgoing connections take their local ports. */
function ephemeralRange(): [number, number] {
  try {
    const [low, high] = readFileSync('/proc/sys/net/ipv4/ip_local_port_range', 'utf8').trim().split(/\s+/).map(Number);
    if (low && high) return [low, high];
  } catch {
    // not Linux: the IANA range
  }
  return [49152, 65535];
}

function bindable(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const server = net.createServer();
    server.once('error', () => resolve(false));
    server.listen(port, '127.0.0.1', () => server.close(() => resolve(true)));
  });
}

/**
 * A TCP port nothing listens on right now, outside the ephemeral range. A server stopped and
 * started again on its port (the restart tests) would otherwise find it taken: a client retrying
 * that port on 127.0.0.1 can be given it as its own local port and connect to itself (a TCP
 * self-connect), which holds the port until the client gives up.
 */
export async function freePort(): Promise<number> {
  const [low, high] = ephemeralRange();
  const ranges = [
    [10_000, low - 1],
    [high + 1, 65_535],
  ].filter(([from, to]) => to! - from! > 1000) as [number, number][];
  for (let attempt = 0; attempt < 200 && ranges.length > 0; attempt++) {
    const [from, to] = ranges[attempt % ranges.length]!;
    const port = from + Math.floor(Math.random() * (to - from + 1));
    if (await bindable(port)) return port;
  }
  throw new Error(`no free TCP port outside the ephemeral range ${low}-${high}`);
}
