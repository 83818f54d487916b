import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { describe, it } from 'node:test';
import { namedStore } from '../activities/store/open-stores.js';
import { parseConfig } from '../common/config.js';
import { cliLookalikeVariables, lookalikeVariables } from '../worker/lookalike-variables.js';

const ROOT = fileURLToPath(new URL('..', import.meta.url));

function runWorker(env: Record<string, string>) {
  return spawnSync(process.execPath, ['--import', 'tsx', 'worker/main.ts'], {
    cwd: ROOT,
    env: { PATH: process.env.PATH!, HOME: process.env.HOME!, ...env },
    encoding: 'utf8',
    timeout: 30_000,
  });
}

describe('configuration', () => {
  it('defaults match the original scripts and the design', () => {
    const config = parseConfig({});
    assert.deepEqual(config.db, { host: '127.0.0.1', port: 5432, user: 'postgres', password: undefined });
    assert.equal(config.retentionDays, 7);
    assert.deepEqual(config.temporal, {
      address: '127.0.0.1:7233',
      namespace: 'default',
      taskQueue: 'pgkeeper',
      uiUrl: 'http://127.0.0.1:8233',
      security: { tls: undefined, apiKey: undefined }, // plaintext, as the dev server speaks
    });
  });

  for (const [name, value, expected] of [
    ['DB_PORT', 'abc', /DB_PORT must be a port number from 1 to 65535 \(got "abc"\)/],
    ['DB_PORT', '0x1538', /DB_PORT must be a port number from 1 to 65535 \(got "0x1538"\)/],
    ['DB_PORT', '5432.0', /DB_PORT must be a port number from 1 to 65535 \(got "5432\.0"\)/],
    ['RETENTION_DAYS', '0', /RETENTION_DAYS must be at least 1/],
    ['RETENTION_DAYS', '1e3', /RETENTION_DAYS must be a whole number of days/],
    ['TEMPORAL_ADDRESS', '127.0.0.1:99999', /TEMPORAL_ADDRESS: the port must be 1 to 65535/],
    ['METRICS_ADDRESS', 'localhost:9464', /METRICS_ADDRESS must be an IP address and port to listen on/],
    ['LOG_LEVEL', 'loud', /LOG_LEVEL must be one of trace, debug, info, warn, error/],
    ['TEMPORAL_ADDRESS', 'nohost', /TEMPORAL_ADDRESS must be host:port/],
    ['DB_HOST', '127.0.0.1:5432', /DB_HOST must not hold a port: put the host in DB_HOST \(e\.g\. 127\.0\.0\.1\) and the port in DB_PORT/],
    ['DB_HOST', '[::1]:5432', /DB_HOST must not hold a port/],
    ['DB_HOST', 'postgres://db.example.com/app', /DB_HOST must be a host name, an address or a socket directory, not a URL/],
    ['DB_HOST', '[::1]', /DB_HOST takes an IPv6 address without brackets \(e\.g\. ::1\)/],
    ['DB_HOST', 'localhost:', /DB_HOST must be a host name \(db\.example\.com\), an address/],
    ['DB_HOST', 'host with space', /DB_HOST must be a host name/],
    ['DB_HOST', '127.0.0.1/24', /DB_HOST must be a host name/],
    ['BACKUP_STORE', 'file://relative/backups', /BACKUP_STORE: "file:\/\/relative\/backups" is not a file URL of a directory; write file:\/\/\/absolute\/path \(three slashes\), or a plain path/],
    ['BACKUP_COPIES', 'file:///tmp/x?x=1', /BACKUP_COPIES: "file:\/\/\/tmp\/x\?x=1": a file:\/\/ store takes no \?query or #fragment \(only s3:\/\/ stores take \?endpoint= and \?region=\); write file:\/\/\/absolute\/path$/],
  ] as const) {
    it(`a bad ${name} stops the worker with one line naming it`, () => {
      const run = runWorker({ [name]: value });
      assert.equal(run.status, 2, run.stderr);
      const lines = run.stderr.trim().split('\n');
      assert.equal(lines.length, 1, run.stderr);
      assert.match(lines[0]!, /^pgkeeper worker: invalid configuration: /);
      assert.match(lines[0]!, expected);
    });
  }

  it('TEMPORAL_ADDRESS takes host:port, and a bracketed IPv6 address with its port', () => {
    for (const address of ['temporal.example.com:7233', '10.0.0.5:7233', '[::1]:7233', '[2001:db8::5]:443']) assert.equal(parseConfig({ TEMPORAL_ADDRESS: address }).temporal.address, address);
    // The dev server's UI on the same host: its link keeps the brackets.
    assert.equal(parseConfig({ TEMPORAL_ADDRESS: '[::1]:7233' }).temporal.uiUrl, 'http://[::1]:8233');
    assert.equal(parseConfig({ TEMPORAL_ADDRESS: 'temporal.example.com:7233' }).temporal.uiUrl, 'http://temporal.example.com:8233');
    assert.throws(() => parseConfig({ TEMPORAL_ADDRESS: '::1:7233' }), /TEMPORAL_ADDRESS must be host:port \(e\.g\. 127\.0\.0\.1:7233, or \[::1\]:7233\)/);
  });

  it('DB_HOST takes a name, an IPv4 or IPv6 address or a socket directory', () => {
    for (const host of ['db.example.com', '10.0.0.5', '::1', 'fe80::1%eth0', '2001:db8::5432', '/var/run/postgresql', '/run/pg:5432']) assert.equal(parseConfig({ DB_HOST: host }).db.host, host);
  });

  it('ENCRYPT_RECIPIENTS keys are read in either case (bech32), kept as age-keygen prints them', () => {
    const key = 'age13tehs76zl9rthlm9jvt5cv2xtzckqcxuzg4rmutrtwernag7uv3su25e2s';
    assert.deepEqual(parseConfig({ ENCRYPT_RECIPIENTS: `${key.toUpperCase()}, ${key}` }).encryption.recipients, { keys: [key, key] });
  });

  it('the CLI warns of lookalikes of the variables it reads (Temporal, TASK_QUEUE) while the one meant is unset, and of no others', () => {
    const env = { TEMPORAL_ADRESS: '10.0.0.5:7233', task_queue: 'db2', TEMPORAL_API_KEY_FLE: '/k', ENCRYPT_RECIPIENT: 'age1…', DB_PASS: 'x' };
    assert.deepEqual(cliLookalikeVariables(env), [
      'TEMPORAL_ADRESS is not a pgkeeper setting (ignored); did you mean TEMPORAL_ADDRESS?',
      'TEMPORAL_API_KEY_FLE is not a pgkeeper setting (ignored); did you mean TEMPORAL_API_KEY_FILE?',
      'task_queue is not a pgkeeper setting (ignored); did you mean TASK_QUEUE?',
    ]);
    assert.deepEqual(cliLookalikeVariables({ ...env, TEMPORAL_ADDRESS: '10.0.0.5:7233', TASK_QUEUE: 'db2', TEMPORAL_API_KEY_FILE: '/k' }), [], 'the one meant is set: a leftover');
  });

  it('a variable that looks like a setting but is none is warned about, naming the one meant; other programs\' variables are left alone', () => {
    const warnings = lookalikeVariables({
      ENCRYPT_RECIPIENT: 'age1…', // cut short: backups would be stored unencrypted
      AGE_IDENTITY: '/keys/id.txt',
      TEMPORAL_ADRESS: 'temporal:7233', // a typo
      COMPRESSION: 'zstd:9',
      TEMPORAL_TLS_CA_DATA: 'pem', // refused by name elsewhere, never suggested
      PG_MAJOR: '15', // the postgres image's
      DB_NAME: 'app',
      LOG_FORMAT: 'json',
      TEMPORAL_CLI_ADDRESS: 'x',
      TEMPORAL_CLI: '/root/.cache/pgkeeper/temporal-v1.5.1/temporal', // npm run up's own, which its worker inherits
      PATH: '/usr/bin',
      ENCRYPT_RECIPIENTS: 'age1…',
    });
    assert.deepEqual(warnings, [
      'AGE_IDENTITY is not a pgkeeper setting (ignored); did you mean AGE_IDENTITY_FILE?',
      'COMPRESSION is not a pgkeeper setting (ignored): compression is chosen per run, with --compression (backup, schedule create) or the workflow input\'s "compression"',
      'ENCRYPT_RECIPIENT is not a pgkeeper setting (ignored); did you mean ENCRYPT_RECIPIENTS?',
      'TEMPORAL_ADRESS is not a pgkeeper setting (ignored); did you mean TEMPORAL_ADDRESS?',
    ]);
    // Said another way, extended, in lower case: encryption or copies would silently be off.
    const other = lookalikeVariables({
      ENCRYPT_RECIPIENTS_FILE: '/keys/r.txt',
      ENCRYPTION_RECIPIENTS: 'age1…',
      AGE_RECIPIENTS: 'age1…',
      AGE_SECRET_KEY_FILE: '/keys/id.txt',
      BACKUP_COPY: '/mnt/offsite',
      DB_HOSTNAME: 'db1',
      encrypt_recipients: 'age1…',
      PGHOST: 'db1', // libpq's, with DB_HOST unset
      PGUSER: 'app', // with DB_USER set: another program's, left alone
      DB_USER: 'app',
      ENCRYPT_RECIPIENTS: '', // "$KEY" unset
      // Kubernetes' and Docker links' own, for a Service named db; a mail setting: left alone.
      DB_PORT_5432_TCP_ADDR: '10.0.0.3',
      DB_PORT_5432_TCP: 'tcp://10.0.0.3:5432',
      DB_SERVICE_HOST: '10.0.0.3',
      BACKUP_STORE_SERVICE_PORT: '80',
      MAIL_RECIPIENTS: 'ops@example.com',
      DB_HOST_ALIAS: 'x',
    });
    assert.deepEqual(other, [
      'ENCRYPT_RECIPIENTS is set but empty: backups are stored unencrypted (give the keys, or unset it to say that is meant)',
      'AGE_RECIPIENTS is not a pgkeeper setting (ignored); did you mean ENCRYPT_RECIPIENTS?',
      'AGE_SECRET_KEY_FILE is not a pgkeeper setting (ignored); did you mean AGE_IDENTITY_FILE?',
      'BACKUP_COPY is not a pgkeeper setting (ignored); did you mean BACKUP_COPIES?',
      'DB_HOSTNAME is not a pgkeeper setting (ignored); did you mean DB_HOST?',
      'ENCRYPTION_RECIPIENTS is not a pgkeeper setting (ignored); did you mean ENCRYPT_RECIPIENTS?',
      'ENCRYPT_RECIPIENTS_FILE is not a pgkeeper setting (ignored); did you mean ENCRYPT_RECIPIENTS?',
      'PGHOST is not read by pgkeeper (ignored; its tools are given DB_HOST); did you mean DB_HOST?',
      'encrypt_recipients is not a pgkeeper setting (ignored); did you mean ENCRYPT_RECIPIENTS?',
    ]);
  });

  it('a store, queue, server or Temporal variable set but empty (left unfilled) is refused, not taken for the default; other empty variables are unset', () => {
    for (const name of ['BACKUP_DIR', 'BACKUP_STORE']) {
      const message = new RegExp(`^invalid configuration: ${name} is set but empty .*unset ${name} for the default store, \\.data/backups in the worker's working directory$`);
      assert.throws(() => parseConfig({ [name]: '' }), (err: Error) => message.test(err.message));
    }
    assert.throws(() => parseConfig({ BACKUP_STORE: '', BACKUP_DIR: '/b' }), (err: Error) => err.message.endsWith('unset BACKUP_STORE for the store BACKUP_DIR names'));
    // The queue, the server, Temporal: a default there is another server's worker, database or cluster.
    for (const name of ['TASK_QUEUE', 'DB_HOST', 'TEMPORAL_ADDRESS', 'TEMPORAL_NAMESPACE']) {
      assert.throws(() => parseConfig({ [name]: '' }), (err: Error) => err.message.startsWith(`invalid configuration: ${name} is set but empty`), name);
    }
    assert.equal(parseConfig({ BACKUP_COPIES: '', DB_PORT: '' }).stores.copies.length, 0);
  });

  it('a file store is a plain path, file:///path or file://localhost/path', () => {
    for (const value of ['/var/backups/pgk', 'file:///var/backups/pgk', 'file://localhost/var/backups/pgk']) {
      assert.equal(parseConfig({ BACKUP_STORE: value }).stores.primary.url, 'file:///var/backups/pgk', value);
    }
  });

  it('a store URL with a stray %, a control character (written or percent-encoded) or an option given twice is refused, naming it', () => {
    const refused = (value: string, expected: string) => assert.throws(() => parseConfig({ BACKUP_COPIES: value }), (err: Error) => err.message === `invalid configuration: BACKUP_COPIES: ${expected}`, value);
    refused('s3://bkt/p%zz', '"s3://bkt/p%zz" has a % not followed by two hex digits; write %25 for a % sign');
    refused('file:///b/a%zz', '"file:///b/a%zz" has a % not followed by two hex digits; write %25 for a % sign');
    refused('s3://bkt/pg%00x', '"s3://bkt/pg%00x" holds a control character (U+0000); remove it');
    refused('s3://bkt/p\tx', '"s3://bkt/p\\tx" holds a control character (U+0009); remove it'); // which URL parsing would drop
    refused('file:///b/a%0Ab', '"file:///b/a%0Ab" holds a control character (U+000A); remove it');
    refused('s3://bkt/p?endpoint=http://a:1&endpoint=http://b:2', '"endpoint" is given more than once in the store URL; give it once');
    assert.equal(parseConfig({ BACKUP_COPIES: 's3://bkt/p+g%20x%25' }).stores.copies[0]!.url, 's3://bkt/p+g x%', 'encoded right, decoded');
  });

  it('an S3 store URL with a part it would drop is refused: a port (the server belongs in ?endpoint=), a #fragment, an empty option, an endpoint with its own query', () => {
    const refused = (value: string, expected: string) => assert.throws(() => parseConfig({ BACKUP_COPIES: value }), (err: Error) => err.message === `invalid configuration: BACKUP_COPIES: ${expected}`, value);
    refused(
      's3://minio.local:9000/backups/pg',
      '"s3://minio.local:9000/backups/pg" gives a port (:9000), but in s3://bucket/prefix the part after s3:// is the bucket; the S3 server goes in ?endpoint=, e.g. s3://backups/pg?endpoint=http://minio.local:9000',
    );
    refused('s3://bkt/pg#frag', '"s3://bkt/pg#frag": a store URL takes no #fragment; write s3://bucket/prefix');
    refused('s3://bkt/pg?region=', '?region= is empty; give a value or leave it out');
    refused('s3://bkt/pg?endpoint=http://127.0.0.1:9000?x', 'endpoint "http://127.0.0.1:9000?x" takes no ?query or #fragment; write the server as http(s)://host:port');
    assert.equal(parseConfig({ BACKUP_COPIES: 's3://bkt/pg?endpoint=http://127.0.0.1:9000/&region=eu-west-1' }).stores.copies[0]!.url, 's3://bkt/pg', 'a whole one is taken');
  });

  it('--store names a store as BACKUP_COPIES writes it (percent-encoded, with its endpoint) or as listings show it', () => {
    const written = 's3://bkt/p+g%20x?endpoint=http://127.0.0.1:1';
    const config = parseConfig({ BACKUP_DIR: '/b/pg', BACKUP_COPIES: written });
    for (const name of [written, 's3://bkt/p+g%20x', 's3://bkt/p+g x']) assert.equal(namedStore(config, name).url, 's3://bkt/p+g x', name);
    assert.throws(() => namedStore(config, 's3://bkt/p+g%20y'), (err: Error) => err.message.startsWith('store "s3://bkt/p+g%20y" is not one of this worker\'s stores'));
  });

  it('stores must be apart: the same one twice, or one inside another, is refused by name', () => {
    const refused = (env: Record<string, string>, expected: RegExp) => assert.throws(() => parseConfig(env), (err: Error) => expected.test(err.message), JSON.stringify(env));
    refused({ BACKUP_DIR: '/b', BACKUP_COPIES: 'file:///b/offsite' }, /^invalid configuration: store file:\/\/\/b\/offsite lies inside store file:\/\/\/b \(/);
    refused({ BACKUP_DIR: '/b/primary', BACKUP_COPIES: '/b' }, /store file:\/\/\/b\/primary lies inside store file:\/\/\/b /);
    refused({ BACKUP_STORE: 's3://bkt/pg', BACKUP_COPIES: 's3://bkt/pg/copy' }, /store s3:\/\/bkt\/pg\/copy lies inside store s3:\/\/bkt\/pg /);
    refused({ BACKUP_STORE: 's3://bkt', BACKUP_COPIES: 's3://bkt/copy' }, /store s3:\/\/bkt\/copy lies inside store s3:\/\/bkt /);
    refused(
      { BACKUP_STORE: 's3://bkt/pg?endpoint=http://10.0.0.1:9000', BACKUP_COPIES: 's3://bkt/pg?endpoint=https://offsite.example.com' },
      /store s3:\/\/bkt\/pg is named twice .*on another server too it needs its own bucket or prefix/,
    );
    // Neighbours, not nested: a name that merely starts like another's.
    const apart = parseConfig({ BACKUP_DIR: '/b/pg', BACKUP_COPIES: '/b/pg-offsite s3://bkt/pg s3://bkt/pg-offsite s3://bkt2/pg' });
    assert.deepEqual(apart.stores.copies.map((c) => c.url), ['file:///b/pg-offsite', 's3://bkt/pg', 's3://bkt/pg-offsite', 's3://bkt2/pg']);
  });

  it('a store URL with its slashes missing, or ~, is refused (as a path it would be a directory here); a copy path may hold a space', () => {
    const refused = (env: Record<string, string>, expected: RegExp) => assert.throws(() => parseConfig(env), (err: Error) => expected.test(err.message), JSON.stringify(env));
    for (const value of ['s3:/bkt/pg', 's3:bkt/pg', 'file:/tmp/b3']) refused({ BACKUP_STORE: value }, /is neither a store URL nor a path; write s3:\/\/bucket\/prefix, file:\/\/\/absolute\/path or a plain path$/);
    refused({ BACKUP_DIR: '/b', BACKUP_COPIES: 's3:/bkt/copy' }, /^invalid configuration: BACKUP_COPIES: "s3:\/bkt\/copy" is neither/);
    refused({ BACKUP_DIR: '~/backups' }, /BACKUP_DIR: "~\/backups": ~ is not expanded here; write the full path/);
    assert.deepEqual(parseConfig({ BACKUP_DIR: '/b', BACKUP_COPIES: '/mnt/Off Site, s3://bkt/pg /mnt/other' }).stores.copies.map((c) => c.url), ['file:///mnt/Off Site', 's3://bkt/pg', 'file:///mnt/other']);
    assert.deepEqual(parseConfig({ ENCRYPT_RECIPIENTS: '/keys/age recipients.txt' }).encryption.recipients, { file: '/keys/age recipients.txt' });
    refused({ BACKUP_DIR: '/b', BACKUP_COPIES: 'copy1 copy2' }, /BACKUP_COPIES: "copy1 copy2": separate stores with commas/);
    assert.throws(() => parseConfig({ ENCRYPT_RECIPIENTS: `age1${'q'.repeat(58)} /etc/keys.txt` }), /ENCRYPT_RECIPIENTS must be age public keys .* or the path of a file listing them/);
    // Blanks alone: keys meant ("$K1 $K2", both unset), and encryption would silently be off. Empty is unset.
    assert.throws(() => parseConfig({ ENCRYPT_RECIPIENTS: ' ' }), /ENCRYPT_RECIPIENTS is " ", which lists no key/);
    assert.equal(parseConfig({ ENCRYPT_RECIPIENTS: '' }).encryption.recipients, undefined);
  });

  it('credentials in an S3 endpoint are refused, never echoed, whatever else is wrong with the URL', () => {
    for (const value of [
      's3://bkt/pg?endpoint=http://user:hunter2@10.0.0.1:9000',
      's3://bkt:9000/pg?endpoint=http://user:hunter2@10.0.0.1:9000#x',
      's3://bkt/pg?endpoint=http://user:hunter2@10.0.0.1:9000?x',
      's3://bkt/pg?endpoint=http://user:hun/ter2@10.0.0.1:9000', // a / in the password
    ]) {
      assert.throws(
        () => parseConfig({ BACKUP_STORE: value }),
        (err: Error) => /^invalid configuration: BACKUP_STORE: put S3 credentials in AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, not in the endpoint$/.test(err.message) && !err.message.includes('hunter2'),
        value,
      );
    }
    // Refused for something else first (not a URL, a control character): the secret is not shown either.
    for (const value of ['s3://b|kt/pg?endpoint=http://user:hunter2@10.0.0.1:9000', 's3://bkt/p\tx?endpoint=http://user:hunter2@10.0.0.1:9000']) {
      assert.throws(() => parseConfig({ BACKUP_STORE: value }), (err: Error) => err.message.startsWith('invalid configuration: BACKUP_STORE: ') && !err.message.includes('hunter2'), value);
    }
  });

  it('never echoes DB_PASSWORD in a configuration error', () => {
    assert.throws(
      () => parseConfig({ DB_PASSWORD: 'hunter2', DB_PORT: '0' }),
      (err: Error) => /DB_PORT/.test(err.message) && !err.message.includes('hunter2'),
    );
  });

  it('a secret pasted where a name or path belongs is refused without being echoed', () => {
    const secretKey = 'AGE-SECRET-KEY-1JVGZTTX3T92JMZH6QCLHGEPFMQJSSEF0WV7P0VP0HM27CW4SMEPST6YCL8';
    for (const [env, named] of [
      [{ AGE_IDENTITY_FILE: secretKey }, /^invalid configuration: AGE_IDENTITY_FILE holds an age private key itself \(not shown\)/],
      [{ DB_HOST: 'postgresql://admin:Sup3rS3cretPw@db1.internal:5432/app' }, /DB_HOST.*\(got \(not shown: it holds a key or a password\)\)$/],
      [{ DB_HOST: 'admin:Sup3rS3cretPw@db1.internal' }, /DB_HOST/],
      [{ TEMPORAL_ADDRESS: 'https://user:Sup3rS3cretPw@temporal:7233' }, /TEMPORAL_ADDRESS/],
    ] as const) {
      assert.throws(
        () => parseConfig(env),
        (err: Error) => named.test(err.message) && !/Sup3rS3cretPw|JVGZTTX3T92/.test(err.message),
        JSON.stringify(env),
      );
    }
  });
});
