/** The Temporal TLS/mTLS/API key variables, parsed and cross-checked (pure: no files, no server). */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ConfigError, parseConfig } from '../common/config.js';

const API_KEY = 'eyJhbGciOiJFUzI1NiJ9.c2VjcmV0LWtleS1ub3Qtc2hvd24.sig';

const security = (env: Record<string, string>) => parseConfig(env).temporal.security;

/** Asserts a one-line ConfigError matching `expected` that never shows the API key. */
function refuses(env: Record<string, string>, expected: RegExp): void {
  assert.throws(
    () => parseConfig(env),
    (err: Error) => {
      assert.ok(err instanceof ConfigError, String(err));
      assert.match(err.message, /^invalid configuration: /);
      assert.match(err.message, expected);
      assert.ok(!err.message.includes('\n'), 'one line');
      assert.ok(!err.message.includes(API_KEY) && !err.message.includes('c2VjcmV0'), 'the API key is never shown');
      return true;
    },
  );
}

describe('Temporal connection security variables', () => {
  it('nothing set: plaintext, as the dev server speaks', () => {
    assert.deepEqual(security({}), { tls: undefined, apiKey: undefined });
    assert.deepEqual(security({ TEMPORAL_TLS: '', TEMPORAL_API_KEY: '' }), { tls: undefined, apiKey: undefined }, 'empty is unset');
  });

  it('TEMPORAL_TLS=true: TLS with the system CAs', () => {
    assert.deepEqual(security({ TEMPORAL_TLS: 'true' }).tls, { serverName: undefined, serverCa: undefined, clientCertPair: undefined });
    assert.equal(security({ TEMPORAL_TLS: '1' }).tls?.serverCa, undefined);
    assert.equal(security({ TEMPORAL_TLS: 'FALSE' }).tls, undefined);
  });

  it('a CA file, a server name or a client certificate pair implies TLS', () => {
    assert.deepEqual(security({ TEMPORAL_TLS_SERVER_CA_CERT_PATH: '/etc/pgkeeper/ca.pem', TEMPORAL_TLS_SERVER_NAME: 'temporal.internal' }).tls, {
      serverName: 'temporal.internal',
      serverCa: { variable: 'TEMPORAL_TLS_SERVER_CA_CERT_PATH', path: '/etc/pgkeeper/ca.pem' },
      clientCertPair: undefined,
    });
    assert.deepEqual(security({ TEMPORAL_TLS_CLIENT_CERT_PATH: 'c.pem', TEMPORAL_TLS_CLIENT_KEY_PATH: 'k.pem' }).tls?.clientCertPair, {
      cert: { variable: 'TEMPORAL_TLS_CLIENT_CERT_PATH', path: 'c.pem' },
      key: { variable: 'TEMPORAL_TLS_CLIENT_KEY_PATH', path: 'k.pem' },
    });
    assert.equal(security({ TEMPORAL_TLS_SERVER_NAME: 'temporal.internal' }).tls?.serverName, 'temporal.internal');
  });

  it("the temporal CLI's older names work, and messages name the variable that was used", () => {
    const tls = security({ TEMPORAL_TLS_CA: 'ca.pem', TEMPORAL_TLS_CERT: 'c.pem', TEMPORAL_TLS_KEY: 'k.pem' }).tls!;
    assert.deepEqual(tls.serverCa, { variable: 'TEMPORAL_TLS_CA', path: 'ca.pem' });
    assert.equal(tls.clientCertPair?.key.variable, 'TEMPORAL_TLS_KEY');
    assert.equal(security({ TEMPORAL_TLS_CA: 'ca.pem', TEMPORAL_TLS_SERVER_CA_CERT_PATH: 'ca.pem' }).tls?.serverCa?.path, 'ca.pem', 'same file twice is fine');
    refuses({ TEMPORAL_TLS_CA: 'a.pem', TEMPORAL_TLS_SERVER_CA_CERT_PATH: 'b.pem' }, /TEMPORAL_TLS_SERVER_CA_CERT_PATH and TEMPORAL_TLS_CA name different files \(b\.pem, a\.pem\): set only TEMPORAL_TLS_SERVER_CA_CERT_PATH/);
  });

  it('an API key implies TLS, records only where the key is, and TEMPORAL_TLS=false can still turn TLS off', () => {
    const withKey = security({ TEMPORAL_API_KEY: API_KEY });
    assert.deepEqual(withKey, { tls: { serverName: undefined, serverCa: undefined, clientCertPair: undefined }, apiKey: { variable: 'TEMPORAL_API_KEY' } });
    assert.ok(!JSON.stringify(parseConfig({ TEMPORAL_API_KEY: API_KEY })).includes(API_KEY), 'the key is not in the Config object');
    assert.deepEqual(security({ TEMPORAL_API_KEY_FILE: '/run/secrets/temporal-api-key' }).apiKey, {
      variable: 'TEMPORAL_API_KEY_FILE',
      path: '/run/secrets/temporal-api-key',
    });
    assert.equal(security({ TEMPORAL_API_KEY: API_KEY, TEMPORAL_TLS: 'false' }).tls, undefined);
  });

  for (const [what, env, expected] of [
    ['a key without its certificate', { TEMPORAL_TLS_CLIENT_KEY_PATH: 'k.pem' }, /TEMPORAL_TLS_CLIENT_KEY_PATH is set but TEMPORAL_TLS_CLIENT_CERT_PATH is not: mutual TLS needs the client certificate too/],
    ['a certificate without its key', { TEMPORAL_TLS_CERT: 'c.pem' }, /TEMPORAL_TLS_CERT is set but TEMPORAL_TLS_CLIENT_KEY_PATH is not: mutual TLS needs the client certificate's private key too/],
    ['a blank path', { TEMPORAL_TLS_SERVER_CA_CERT_PATH: '  ' }, /TEMPORAL_TLS_SERVER_CA_CERT_PATH is blank: give the path of a PEM file, or unset it/],
    ['a blank server name', { TEMPORAL_TLS_SERVER_NAME: ' ' }, /TEMPORAL_TLS_SERVER_NAME is blank/],
    ['a server name with a port', { TEMPORAL_TLS_SERVER_NAME: 'temporal.internal:7233' }, /TEMPORAL_TLS_SERVER_NAME must be a host name .* without scheme or port \(got "temporal\.internal:7233"\)/],
    ['TEMPORAL_TLS neither true nor false', { TEMPORAL_TLS: 'yes please' }, /TEMPORAL_TLS must be true or false \(got "yes please"\)/],
    ['TEMPORAL_TLS=false with a TLS file', { TEMPORAL_TLS: 'false', TEMPORAL_TLS_SERVER_CA_CERT_PATH: 'ca.pem' }, /TEMPORAL_TLS=false contradicts TEMPORAL_TLS_SERVER_CA_CERT_PATH/],
    ['both API key variables', { TEMPORAL_API_KEY: API_KEY, TEMPORAL_API_KEY_FILE: 'key' }, /TEMPORAL_API_KEY and TEMPORAL_API_KEY_FILE are both set: set only one/],
    ['a blank API key', { TEMPORAL_API_KEY: '   ' }, /TEMPORAL_API_KEY is blank/],
    ['an API key with a line break inside', { TEMPORAL_API_KEY: `${API_KEY}\nmore` }, /TEMPORAL_API_KEY holds spaces, line breaks or non-ASCII characters inside the key \(the value is not shown\)/],
    ['an inline PEM variable', { TEMPORAL_TLS_CLIENT_KEY_DATA: '-----BEGIN PRIVATE KEY-----' }, /TEMPORAL_TLS_CLIENT_KEY_DATA is not supported: .* set TEMPORAL_TLS_CLIENT_KEY_PATH to its path/],
    ['disabled host verification', { TEMPORAL_TLS_DISABLE_HOST_VERIFICATION: 'true' }, /TEMPORAL_TLS_DISABLE_HOST_VERIFICATION is not supported/],
  ] as const) {
    it(`refuses ${what} with one line naming the variable`, () => refuses(env, expected));
  }
});
