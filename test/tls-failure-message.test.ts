/** rustls's words for a certificate not valid for the name asked, as the core reports them, read back into names. */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { classifyCoreError } from '../client/tls-failure-message.js';

describe('TLS failure words', () => {
  it('a name mismatch names what was asked and what the certificate holds, DNS names and IP addresses alike', () => {
    assert.deepEqual(
      classifyCoreError('invalid peer certificate: NotValidForNameContext { expected: IpAddress(V4(Ipv4Addr([127, 0, 0, 1]))), presented: ["DnsName(\\"temporal.internal\\")", "IpAddress(V4(Ipv4Addr([10, 0, 0, 2])))"] }'),
      { kind: 'name-mismatch', expected: '127.0.0.1', names: ['temporal.internal', '10.0.0.2'] },
    );
    assert.deepEqual(classifyCoreError('NotValidForNameContext { expected: DnsName("localhost"), presented: [DnsName("temporal.internal")] }'), {
      kind: 'name-mismatch',
      expected: 'localhost',
      names: ['temporal.internal'],
    });
    assert.deepEqual(classifyCoreError('invalid peer certificate: NotValidForName'), { kind: 'name-mismatch', expected: '?', names: [] });
  });
});
