/**
 * The CLI's reason Temporal cannot be reached, from one real TCP connection: grpc-js alone says
 * "Failed to connect before the deadline" for every one of these.
 */
import assert from 'node:assert/strict';
import net from 'node:net';
import { describe, it } from 'node:test';
import { tcpReason } from '../client/tcp-reason.js';
import { freePort } from './helpers/ports.js';

describe('tcpReason', () => {
  it('tells a port nothing listens on, a host name that does not resolve, and a port that is not Temporal\'s', async () => {
    assert.equal(await tcpReason(`127.0.0.1:${await freePort()}`), 'connection refused: nothing listens on that port');
    assert.equal(await tcpReason('temporal.invalid:7233'), 'the host name does not resolve');
    assert.equal(await tcpReason('no-port-here'), undefined, 'not host:port: the SDK\'s own words stand');
    assert.ok(await tcpReason('[::1]:1'), 'an IPv6 address in brackets is taken apart');
    const server = net.createServer((socket) => socket.on('error', () => undefined)); // takes connections, answers nothing
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    try {
      const { port } = server.address() as net.AddressInfo;
      assert.match((await tcpReason(`127.0.0.1:${port}`)) ?? '', /^it takes connections but did not answer as Temporal does/);
    } finally {
      server.close();
    }
  });
});
