/**
 * `npm run up` (scripts/up.ts) as a newcomer runs it: the dev server, a worker, a first backup, and
 * Ctrl-C stopping the worker before the servers with one last "stopped" line. Ports already taken
 * are said plainly; TEMPORAL_PORT / TEMPORAL_UI_PORT move the dev server. `--s3` backs up to the
 * S3 test server with a verified copy on disk. State goes to UP_DATA_DIR (a temporary directory
 * here, `.data/` for people).
 */
import assert from 'node:assert/strict';
import net from 'node:net';
import { fileURLToPath } from 'node:url';
import { describe, it } from 'node:test';
import { execa } from 'execa';
import { testCluster } from './helpers/cluster.js';
import { uniqueName } from './helpers/config.js';
import { freePort } from './helpers/ports.js';
import { dropDatabase, seedDatabase } from './helpers/postgres.js';
import { testConfig } from './helpers/config.js';
import { waitFor } from './helpers/processes.js';
import { tempDir } from './helpers/temp-dirs.js';

const ROOT = fileURLToPath(new URL('..', import.meta.url));

async function up(args: string[], env: Record<string, string>) {
  const cluster = testCluster();
  const child = execa(process.execPath, ['--import', 'tsx', 'scripts/up.ts', ...args], {
    cwd: ROOT,
    reject: false,
    all: true,
    env: { DB_HOST: cluster.host, DB_PORT: String(cluster.port), DB_USER: cluster.user, DB_PASSWORD: cluster.password, UP_DATA_DIR: tempDir('up'), LOG_LEVEL: 'warn', ...env },
  });
  let output = '';
  child.all!.on('data', (chunk: Buffer) => (output += chunk.toString()));
  return { child, output: () => output };
}

describe('npm run up', () => {
  const config = testConfig();

  it('starts the dev server on TEMPORAL_PORT, a worker and a first backup; Ctrl-C stops the worker first and ends with one "stopped" line', { timeout: 240_000 }, async () => {
    const database = uniqueName('pgk_up');
    await seedDatabase(config, database);
    const [port, uiPort] = [await freePort(), await freePort()];
    const run = await up([database], { TEMPORAL_PORT: String(port), TEMPORAL_UI_PORT: String(uiPort) });
    try {
      await waitFor('the first backup and the hints', () => /Ctrl-C stops the worker/.test(run.output()), 180_000);
      assert.match(run.output(), new RegExp(`starting Temporal dev server on 127\\.0\\.0\\.1:${port}, UI on http://127\\.0\\.0\\.1:${uiPort}`));
      assert.match(run.output(), new RegExp(`backup ${database}-\\d{8}T\\d{6}Z-[0-9a-f]{8} completed`));
      assert.match(run.output(), new RegExp(`export TEMPORAL_ADDRESS=127\\.0\\.0\\.1:${port} TEMPORAL_UI_URL=http://127\\.0\\.0\\.1:${uiPort}`), 'the other terminal is told where Temporal is');
    } finally {
      run.child.kill('SIGINT');
      await run.child;
      await dropDatabase(config, database);
    }
    const lines = run.output().trim().split('\n');
    assert.match(lines.at(-1)!, /^\[up\] stopped \(state kept in .+\/\)$/, 'one last line says it is over');
    const worker = lines.findIndex((l) => l === '[up] stopping worker...');
    const server = lines.findIndex((l) => l === '[up] stopping Temporal dev server...');
    assert.ok(worker >= 0 && server > worker, `the worker stops before the dev server:\n${lines.slice(-8).join('\n')}`);
  });

  it('says plainly when something that is not Temporal holds the port, and how to move', async () => {
    const squatter = net.createServer((socket) => socket.end());
    await new Promise<void>((resolve) => squatter.listen(0, '127.0.0.1', resolve));
    const { port } = squatter.address() as net.AddressInfo;
    try {
      const run = await up([], { TEMPORAL_PORT: String(port), TEMPORAL_UI_PORT: String(await freePort()) });
      const result = await run.child;
      assert.notEqual(result.exitCode, 0);
      assert.match(run.output(), new RegExp(`something that is not a Temporal server answers on 127\\.0\\.0\\.1:${port}; stop it, or .*TEMPORAL_PORT=7243 TEMPORAL_UI_PORT=8243 npm run up`));
    } finally {
      squatter.close();
    }
  });

  it('--s3 backs up to the S3 test server, with a verified copy on disk', { timeout: 240_000 }, async () => {
    const database = uniqueName('pgk_up_s3');
    await seedDatabase(config, database);
    const run = await up([database, '--s3'], { TEMPORAL_PORT: String(await freePort()), TEMPORAL_UI_PORT: String(await freePort()), S3_PORT: String(await freePort()) });
    try {
      await waitFor('the first backup', () => /Ctrl-C stops the worker/.test(run.output()), 180_000);
      assert.match(run.output(), /stored in  s3:\/\/pgkeeper\/backups/);
      assert.match(run.output(), /copied to  file:\/\//);
    } finally {
      run.child.kill('SIGINT');
      await run.child;
      await dropDatabase(config, database);
    }
    assert.match(run.output().trim().split('\n').at(-1)!, /^\[up\] stopped/);
  });
});
