/**
 * The worker and the CLI over a real TLS handshake. The dev server speaks plaintext only, so a
 * TLS-terminating proxy stands in front of it (test/helpers/tls-proxy.ts), with certificates made
 * here by openssl. Worker and CLI run as the processes users run, configured only by environment.
 */
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { chmodSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { after, before, describe, it } from 'node:test';
import { execa } from 'execa';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import { databaseWorkflowId } from '../common/names.js';
import { backupDir, testConfig, uniqueName } from './helpers/config.js';
import { startGrpcHeaderProxy } from './helpers/grpc-header-proxy.js';
import { historyText } from './helpers/history-text.js';
import { dropDatabase, seedDatabase } from './helpers/postgres.js';
import { startDevServer } from './helpers/temporal.js';
import { makeTestCertificates, type CertificatePair, type TestCertificates } from './helpers/test-certificates.js';
import { startTlsProxy, type TlsProxy } from './helpers/tls-proxy.js';
import { runWorkerUntilExit, startWorkerWithEnv } from './helpers/worker-with-env.js';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
/** Visible ASCII like a real key, and unique, so finding it anywhere means it leaked. */
const API_KEY = `pgk-apikey-${randomUUID()}`;

const escape = (text: string) => text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

/** The message of the worker's error log line (pino JSON on stdout): what an operator reads. */
function workerError(output: string): string {
  const errors = output
    .split('\n')
    .filter((line) => line.startsWith('{'))
    .map((line) => JSON.parse(line) as { level: number; msg: string })
    .filter((entry) => entry.level >= 50);
  assert.equal(errors.length, 1, `one error line from the worker:\n${output}`);
  return errors[0]!.msg;
}

/** The CLI's single stderr line, without its "pgkeeper: " prefix. */
function cliError(result: { exitCode?: number; stderr: unknown; stdout: unknown }, exitCode = 1): string {
  const stderr = String(result.stderr).trim();
  assert.equal(result.exitCode, exitCode, stderr);
  assert.equal(stderr.split('\n').length, 1, `one line:\n${stderr}`);
  assert.match(stderr, /^pgkeeper: /);
  return stderr.slice('pgkeeper: '.length);
}

/** Ways a certificate or key could show up in a log: PEM lines, the base64 of its DER, its DER in hex. */
function fingerprintsOf(file: string): string[] {
  const lines = readFileSync(file, 'utf8').split('\n').filter((l) => l && !l.startsWith('-----'));
  const base64 = lines.join('');
  return [lines[0]!, base64, Buffer.from(base64, 'base64').toString('hex').slice(0, 64)];
}

describe('Temporal over TLS, mutual TLS and API keys', () => {
  let env: TestWorkflowEnvironment;
  let certs: TestCertificates;
  let tlsProxy: TlsProxy;
  let mtlsProxy: TlsProxy;
  const config = testConfig();
  const database = uniqueName('pgk_tls');

  before(async () => {
    env = await startDevServer();
    certs = makeTestCertificates();
    tlsProxy = await startTlsProxy({ target: env.address, server: certs.server });
    mtlsProxy = await startTlsProxy({ target: env.address, server: certs.server, clientCa: certs.ca.cert });
    await seedDatabase(config, database);
  });
  after(async () => {
    await dropDatabase(config, database);
    await tlsProxy?.close();
    await mtlsProxy?.close();
    await env?.teardown();
    certs?.remove();
  });

  /** Everything but Temporal's address and security: the same for every process here. */
  const common = () => ({
    TASK_QUEUE: config.temporal.taskQueue,
    BACKUP_DIR: backupDir(config),
    DB_HOST: config.db.host,
    DB_PORT: String(config.db.port),
    DB_USER: config.db.user,
    DB_PASSWORD: config.db.password!,
    LOG_LEVEL: 'info',
  });
  const viaTls = (address: string, extra: Record<string, string> = {}) => ({
    ...common(),
    TEMPORAL_ADDRESS: address,
    TEMPORAL_TLS_SERVER_CA_CERT_PATH: certs.ca.cert,
    ...extra,
  });
  const clientCert = (pair: CertificatePair) => ({ TEMPORAL_TLS_CLIENT_CERT_PATH: pair.cert, TEMPORAL_TLS_CLIENT_KEY_PATH: pair.key });

  /** bin/pgkeeper as a user runs it, with exactly these variables (nothing inherited from the test). */
  const pgkeeper = (vars: Record<string, string>, args: string[], options: { uid?: number; gid?: number } = {}) =>
    execa(`${ROOT}/bin/pgkeeper`, args, {
      reject: false,
      extendEnv: false,
      env: { PATH: process.env.PATH!, HOME: process.env.HOME!, ...vars },
      ...options,
    });

  it('a backup runs end to end through TLS with a custom CA: worker and CLI', async () => {
    const before = tlsProxy.secureConnections();
    const worker = await startWorkerWithEnv(viaTls(tlsProxy.address));
    try {
      assert.match(worker.output(), new RegExp(`"temporal":"${escape(tlsProxy.address)} \\(TLS, CA ${escape(certs.ca.cert)}\\)"`));
      const backup = await pgkeeper(viaTls(tlsProxy.address), ['backup', database, '--wait']);
      assert.equal(backup.exitCode, 0, backup.stderr);
      assert.match(backup.stdout, /backup \S+ completed/);
    } finally {
      await worker.stop();
    }
    // The proxy's address speaks only TLS (a plaintext client fails there, below): at least the
    // worker's and the CLI's connections were TLS handshakes it accepted.
    assert.ok(tlsProxy.secureConnections() - before >= 2, `TLS connections: ${tlsProxy.secureConnections() - before}`);
  });

  it('mutual TLS refuses a client without a certificate and one signed by another CA, each with a clear message; the right one works', async () => {
    const acceptedBefore = mtlsProxy.secureConnections();
    const noCert = viaTls(mtlsProxy.address);
    const otherCa = viaTls(mtlsProxy.address, clientCert(certs.otherClient));
    const required = new RegExp(
      `^TLS handshake with Temporal at ${escape(mtlsProxy.address)} failed: client certificate required: the server demands mutual TLS; ` +
        'set TEMPORAL_TLS_CLIENT_CERT_PATH and TEMPORAL_TLS_CLIENT_KEY_PATH to a certificate it trusts and its key$',
    );
    const refused = new RegExp(
      `^TLS handshake with Temporal at ${escape(mtlsProxy.address)} failed: client certificate refused: .* ` +
        `check that TEMPORAL_TLS_CLIENT_CERT_PATH=${escape(certs.otherClient.cert)} is signed by a CA the server trusts for clients$`,
    );

    const [workerNoCert, cliNoCert] = await Promise.all([runWorkerUntilExit(noCert), pgkeeper(noCert, ['history'])]);
    assert.equal(workerNoCert.exitCode, 1, workerNoCert.output);
    assert.match(workerError(workerNoCert.output), required);
    assert.match(cliError(cliNoCert), required);

    const [workerOtherCa, cliOtherCa] = await Promise.all([runWorkerUntilExit(otherCa), pgkeeper(otherCa, ['history'])]);
    assert.equal(workerOtherCa.exitCode, 1, workerOtherCa.output);
    assert.match(workerError(workerOtherCa.output), refused);
    assert.match(cliError(cliOtherCa), refused);
    // The server's side of the same story, so the messages above are about what really happened:
    // OpenSSL's reason for the first; node:tls refuses an untrusted certificate silently (no
    // alert, no event), so for the second only that it accepted no connection at all.
    assert.ok(mtlsProxy.handshakeErrors.some((e) => /peer did not return a certificate/.test(e)), mtlsProxy.handshakeErrors.join('\n'));
    assert.equal(mtlsProxy.secureConnections(), acceptedBefore, 'the mTLS endpoint accepted none of them');

    const good = viaTls(mtlsProxy.address, clientCert(certs.client));
    const worker = await startWorkerWithEnv(good);
    try {
      assert.match(worker.output(), /"temporal":"[^"]+ \(mutual TLS, CA [^"]+, client certificate [^"]+client\.pem\)"/);
      const history = await pgkeeper(good, ['history']);
      assert.equal(history.exitCode, 0, history.stderr);
    } finally {
      await worker.stop();
    }
  });

  it('a wrong server name, an untrusted server certificate and TLS on one side only each fail with a clear message; plaintext on both sides still works', async () => {
    const wrongName = viaTls(tlsProxy.address, { TEMPORAL_TLS_SERVER_NAME: 'wrong.example' });
    const mismatch = new RegExp(
      `^TLS handshake with Temporal at ${escape(tlsProxy.address)} failed: server name mismatch: ` +
        'the server\'s certificate is for localhost, 127\\.0\\.0\\.1, not "wrong\\.example"; set TEMPORAL_TLS_SERVER_NAME to one of its names$',
    );
    const [workerWrongName, cliWrongName] = await Promise.all([runWorkerUntilExit(wrongName), pgkeeper(wrongName, ['history'])]);
    assert.equal(workerWrongName.exitCode, 1, workerWrongName.output);
    assert.match(workerError(workerWrongName.output), mismatch);
    assert.match(cliError(cliWrongName), mismatch);

    // No custom CA: the test CA is in no system store.
    const systemCas = { ...common(), TEMPORAL_ADDRESS: tlsProxy.address, TEMPORAL_TLS: 'true' };
    const untrusted = new RegExp(
      `^TLS handshake with Temporal at ${escape(tlsProxy.address)} failed: certificate not trusted: the server's certificate .*is not signed by a CA this system trusts; ` +
        'set TEMPORAL_TLS_SERVER_CA_CERT_PATH to the CA that signed it$',
    );
    const [workerUntrusted, cliUntrusted] = await Promise.all([runWorkerUntilExit(systemCas), pgkeeper(systemCas, ['history'])]);
    assert.match(workerError(workerUntrusted.output), untrusted);
    assert.match(cliError(cliUntrusted), untrusted);
    assert.match(cliError(cliUntrusted), /\(issued by "pgkeeper test CA"\)/, 'the CLI names the issuer');

    const [plaintextToTls, tlsToPlaintext] = await Promise.all([
      pgkeeper({ ...common(), TEMPORAL_ADDRESS: tlsProxy.address }, ['history']),
      // At an IP address, as the dev server is reached: grpc-js sends it as the TLS server name,
      // which Node would warn about (DEP0123) before pgkeeper's one line.
      pgkeeper(viaTls(env.address), ['history']),
    ]);
    assert.match(
      cliError(plaintextToTls),
      new RegExp(`^Temporal at ${escape(tlsProxy.address)} speaks TLS, but pgkeeper connects in plaintext: set TEMPORAL_TLS=true`),
    );
    assert.match(cliError(tlsToPlaintext), new RegExp(`^TLS handshake with Temporal at ${escape(env.address)} failed: the server does not speak TLS there \\(ERR_SSL_WRONG_VERSION_NUMBER\\)`));

    const plaintext = await pgkeeper({ ...common(), TEMPORAL_ADDRESS: env.address }, ['history']);
    assert.equal(plaintext.exitCode, 0, plaintext.stderr);
  });

  it('mTLS and an API key through a proxy that reads headers: the key is sent as a Bearer token; no certificate, key or API key reaches a log, the CLI output or history', async () => {
    const proxy = await startGrpcHeaderProxy({ target: env.address, server: certs.server, clientCa: certs.ca.cert });
    const keyFile = path.join(certs.dir, 'temporal-api-key');
    writeFileSync(keyFile, `${API_KEY}\n`, { mode: 0o600 }); // a trailing newline, as editors and `echo` leave
    let logs = '';
    let backup: Awaited<ReturnType<typeof pgkeeper>> | undefined;
    try {
      const worker = await startWorkerWithEnv(viaTls(proxy.address, { ...clientCert(certs.client), TEMPORAL_API_KEY_FILE: keyFile, LOG_LEVEL: 'debug' }));
      try {
        backup = await pgkeeper(viaTls(proxy.address, { ...clientCert(certs.client), TEMPORAL_API_KEY: API_KEY }), ['backup', database, '--wait']);
        assert.equal(backup.exitCode, 0, backup.stderr);
      } finally {
        await worker.stop();
        logs = worker.output();
      }
    } finally {
      await proxy.close();
    }

    const polls = proxy.seen.filter((r) => /\/Poll(Workflow|Activity)TaskQueue$/.test(r.path));
    const starts = proxy.seen.filter((r) => r.path.endsWith('/StartWorkflowExecution'));
    assert.ok(polls.length > 0 && starts.length === 1, proxy.seen.map((r) => r.path).join('\n'));
    for (const request of proxy.seen) assert.equal(request.authorization, `Bearer ${API_KEY}`, `${request.path} carries the key`);

    const history = historyText(env.address, databaseWorkflowId(config.temporal.taskQueue, database));
    assert.ok(backup);
    const cliOutput = `${String(backup.stdout)}\n${String(backup.stderr)}`;
    // Each text must be the real thing, or the absence checks below would prove nothing.
    assert.match(logs, /"temporal":"[^"]*API key from TEMPORAL_API_KEY_FILE\)".*"msg":"pgkeeper worker started"/);
    assert.ok(logs.split('\n').length > 20, 'debug logs were captured');
    assert.match(cliOutput, /backup \S+ completed/);
    assert.ok(history.includes(database));

    const secrets: [string, string[]][] = [
      ['the API key', [API_KEY]],
      ['the client key', fingerprintsOf(certs.client.key)],
      ['the client certificate', fingerprintsOf(certs.client.cert)],
      ['the CA certificate', fingerprintsOf(certs.ca.cert)],
    ];
    for (const [what, marks] of secrets) {
      for (const [where, text] of [['worker logs', logs], ['CLI output', cliOutput], ['workflow history', history]] as const) {
        assert.ok(!marks.some((m) => text.includes(m)), `${what} found in ${where}`);
      }
    }
  });

  it('TLS file mistakes stop the CLI and the worker with one line naming the variable and exit code 2', async () => {
    const notPem = path.join(certs.dir, 'not-pem.txt');
    writeFileSync(notPem, 'this is not a certificate\n');
    // [what, variables, expected line, also run the worker?] The worker shares the CLI's loader, so
    // it runs for one mistake found in the variables and one found in a file (processes cost seconds).
    const cases: [string, Record<string, string>, RegExp, boolean?][] = [
      ['a missing file', { TEMPORAL_TLS_SERVER_CA_CERT_PATH: path.join(certs.dir, 'nope.pem') }, new RegExp(`TEMPORAL_TLS_SERVER_CA_CERT_PATH=${escape(certs.dir)}/nope\\.pem: no such file$`)],
      // The key pasted where its file's path belongs: named, not echoed.
      ['the key itself as the path', { ...clientCert(certs.client), TEMPORAL_TLS_CLIENT_KEY_PATH: readFileSync(certs.client.key, 'utf8') }, /TEMPORAL_TLS_CLIENT_KEY_PATH \(its value, not shown, looks like no file name: the key itself, not a path\?\)|TEMPORAL_TLS_CLIENT_KEY_PATH \(its value, not shown/],
      ['a file that is not PEM', { ...clientCert(certs.client), TEMPORAL_TLS_CLIENT_CERT_PATH: notPem }, /TEMPORAL_TLS_CLIENT_CERT_PATH=\S+not-pem\.txt: not a PEM certificate \(no "-----BEGIN CERTIFICATE-----" line\)$/, true],
      ['a key without its certificate', { TEMPORAL_TLS_CLIENT_KEY_PATH: certs.client.key }, /TEMPORAL_TLS_CLIENT_KEY_PATH is set but TEMPORAL_TLS_CLIENT_CERT_PATH is not: mutual TLS needs the client certificate too/, true],
      ['a key and certificate swapped', { TEMPORAL_TLS_CLIENT_CERT_PATH: certs.client.key, TEMPORAL_TLS_CLIENT_KEY_PATH: certs.client.cert }, /TEMPORAL_TLS_CLIENT_CERT_PATH=\S+client\.key: holds a private key, not a certificate \(are the certificate and key variables swapped\?\)$/],
      ['a key that is not the certificate\'s', { TEMPORAL_TLS_CLIENT_CERT_PATH: certs.client.cert, TEMPORAL_TLS_CLIENT_KEY_PATH: certs.otherClient.key }, /TEMPORAL_TLS_CLIENT_KEY_PATH=\S+other-client\.key: is not the private key of the certificate in TEMPORAL_TLS_CLIENT_CERT_PATH=\S+client\.pem$/],
    ];
    const keyMarks = fingerprintsOf(certs.client.key);
    for (const [what, vars, expected, alsoWorker] of cases) {
      const envVars = { ...common(), TEMPORAL_ADDRESS: tlsProxy.address, ...vars };
      const [cli, worker] = await Promise.all([pgkeeper(envVars, ['history']), alsoWorker ? runWorkerUntilExit(envVars) : undefined]);
      const line = cliError(cli, 2);
      assert.match(line, /^invalid configuration: /, what);
      assert.match(line, expected, what);
      assert.equal(String(cli.stdout), '', `${what}: nothing else printed`);
      assert.ok(!keyMarks.some((m) => line.includes(m)), `${what}: no key content in the message`);
      if (worker) {
        assert.equal(worker.exitCode, 2, `${what}: worker\n${worker.output}`);
        assert.equal(worker.output.trim(), `pgkeeper worker: ${line}`, `${what}: the worker says the same in one line`);
      }
    }
  });

  it('an unreadable TLS file is named too (as an unprivileged user when the tests run as root, whom chmod 000 does not stop)', async () => {
    // Root reads a mode-000 file anyway, so then the CLI runs as nobody, as a deployed worker
    // should; the file sits in a directory of its own that nobody may enter.
    const dir = mkdtempSync(path.join(os.tmpdir(), 'pgkeeper-tls-unreadable-'));
    try {
      chmodSync(dir, 0o755);
      const file = path.join(dir, 'ca.pem');
      writeFileSync(file, readFileSync(certs.ca.cert));
      chmodSync(file, 0o000);
      const asRoot = process.getuid?.() === 0;
      const cli = await pgkeeper({ ...common(), TEMPORAL_ADDRESS: tlsProxy.address, TEMPORAL_TLS_SERVER_CA_CERT_PATH: file }, ['history'], asRoot ? { uid: 65534, gid: 65534 } : {});
      assert.match(cliError(cli, 2), new RegExp(`^invalid configuration: TEMPORAL_TLS_SERVER_CA_CERT_PATH=${escape(file)}: cannot be read \\(permission denied for this process, uid \\d+\\)$`));
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
