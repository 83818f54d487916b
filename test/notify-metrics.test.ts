import assert from 'node:assert/strict';
import http from 'node:http';
import type net from 'node:net';
import { after, before, describe, it } from 'node:test';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import { restoreDrill } from '../workflows/index.js';
import { backupDir, testConfig, uniqueName } from './helpers/config.js';
import { readObject } from './helpers/stores.js';
import { openStore } from '../activities/store/open-stores.js';
import { backupKeys } from '../common/backup-keys.js';
import { dropDatabase, seedDatabase } from './helpers/postgres.js';
import { markRuntimeInstalled, startDevServer, withWorker } from './helpers/temporal.js';
import { freePort } from './helpers/ports.js';
import { createLogger } from '../worker/logger.js';
import { installRuntime } from '../worker/runtime.js';
import { runBackup } from './helpers/workflows.js';
import { backupDatabase } from '../workflows/index.js';
import { databaseWorkflowId } from '../common/names.js';

describe('notifications and metrics', () => {
  let env: TestWorkflowEnvironment;
  let metricsPort: number;
  const received: { path: string; body: Record<string, unknown> }[] = [];
  const hook = http.createServer((req, res) => {
    let body = '';
    req.on('data', (chunk) => (body += chunk));
    req.on('end', () => {
      received.push({ path: req.url ?? '', body: JSON.parse(body) });
      res.writeHead(200).end('ok');
    });
  });
  let hookUrl: string;
  const database = uniqueName('pgk_notify');

  before(async () => {
    metricsPort = await freePort();
    // The worker's own runtime (worker/runtime.ts), its log kept to errors.
    installRuntime(createLogger('error'), `127.0.0.1:${metricsPort}`);
    markRuntimeInstalled();
    env = await startDevServer();
    await new Promise<void>((resolve) => hook.listen(0, '127.0.0.1', resolve));
    hookUrl = `http://127.0.0.1:${(hook.address() as net.AddressInfo).port}/hooks/secret-token`;
    await seedDatabase(config(), database);
  });
  after(async () => {
    hook.close();
    await dropDatabase(config(), database);
    await env?.teardown();
  });

  const base = testConfig();
  /** This file's BACKUP_DIR and task queue, with extra settings. */
  const config = (env: Record<string, string> = {}) => testConfig({ BACKUP_DIR: backupDir(base), TASK_QUEUE: base.temporal.taskQueue, ...env });
  const store = openStore(base.stores.primary);

  /** The Prometheus samples of `name` for this file's database and `operation`, summed (0 when none yet). */
  const metricValue = async (name: string, operation: string, db = database) => {
    const text = await (await fetch(`http://127.0.0.1:${metricsPort}/metrics`)).text();
    return text
      .split('\n')
      .filter((l) => l.startsWith(`${name}{`) && l.includes(`database="${db}"`) && l.includes(`operation="${operation}"`))
      .reduce((sum, l) => sum + Number(l.split(' ').pop()), 0);
  };

  it('a failed drill sends exactly one failure notification with the documented fields', async () => {
    const c = config({ NOTIFY_WEBHOOK_URL: hookUrl });
    // Uncompressed, so the damage below reaches the checksum (zstd would stop at it first).
    const backup = await withWorker(env, c, () =>
      env.client.workflow.execute(backupDatabase, { args: [{ database, compression: 'none' }], taskQueue: c.temporal.taskQueue, workflowId: databaseWorkflowId(c.temporal.taskQueue, database) }),
    );
    assert.ok(backup.status === 'completed', backup.status);
    assert.equal(received.length, 0, 'no notification for a success by default (NOTIFY_ON=failure)');
    // Same size, other bytes: the backup still lists as complete, and the drill's checksum finds it out.
    const bytes = await readObject(store, backup.archiveKey);
    bytes.writeUInt8(bytes.readUInt8(bytes.length - 10) ^ 0xff, bytes.length - 10);
    await store.put(backup.archiveKey, bytes);
    const workflowId = uniqueName('drill');
    await withWorker(env, c, () =>
      assert.rejects(env.client.workflow.execute(restoreDrill, { args: [{ database }], taskQueue: c.temporal.taskQueue, workflowId })),
    );
    assert.equal(received.length, 1);
    const { path, body } = received[0]!;
    assert.equal(path, '/hooks/secret-token');
    assert.match(String(body.text), new RegExp(`pgkeeper: drill of ${database} FAILED: ${backup.backupId} in \\S+ does not match its manifest`));
    const fields = body.pgkeeper as Record<string, unknown>;
    assert.equal(fields.database, database);
    assert.equal(fields.operation, 'drill');
    assert.equal(fields.outcome, 'failed');
    assert.equal(fields.workflowId, workflowId);
    assert.match(String(fields.error), /does not match its manifest/);
    await store.delete(backupKeys(database, backup.backupId, []).manifest); // the newest good backup is an intact one again
  });

  it('with the webhook down, the backup still succeeds', async () => {
    const c = config({ NOTIFY_WEBHOOK_URL: `http://127.0.0.1:${await freePort()}/down`, NOTIFY_ON: 'always' });
    const result = await withWorker(env, c, () => runBackup(env, c, database));
    assert.equal(result.status, 'completed');
  });

  it('the metrics endpoint serves pgkeeper metrics after a backup', async () => {
    const c = config();
    const backup = await withWorker(env, c, () => runBackup(env, c, database));
    const text = await (await fetch(`http://127.0.0.1:${metricsPort}/metrics`)).text();
    const line = (name: string) => text.split('\n').find((l) => l.startsWith(name) && l.includes(`database="${database}"`) && l.includes('operation="backup"'));
    assert.ok(line('pgkeeper_backup_size_bytes'), text.split('\n').filter((l) => l.includes('pgkeeper')).join('\n'));
    assert.equal(Number(line('pgkeeper_backup_size_bytes')!.split(' ').pop()), backup.sizeBytes);
    const lastSuccess = Number(line('pgkeeper_last_success_timestamp_seconds')!.split(' ').pop());
    assert.ok(Math.abs(lastSuccess - Date.now() / 1000) < 120, `last success ${lastSuccess}`);
    assert.ok(line('pgkeeper_duration_seconds_count'));
    // Buckets in seconds, up to a day: a backup of a few seconds is not in the first of millisecond-sized ones.
    const bounds = text.split('\n').filter((l) => l.startsWith('pgkeeper_duration_seconds_bucket') && l.includes(`database="${database}"`) && l.includes('operation="backup"')).map((l) => /le="([^"]+)"/.exec(l)?.[1]);
    assert.deepEqual(bounds, ['1', '5', '15', '30', '60', '300', '900', '1800', '3600', '7200', '14400', '28800', '86400', '+Inf']);
    assert.match(text, /temporal_/, "Temporal's own runtime metrics are served too");
  });

  it('a failed run is counted once, however often the webhook is retried (it answers 500)', async () => {
    let attempts = 0;
    const failing = http.createServer((req, res) => {
      req.resume();
      req.on('end', () => {
        attempts += 1;
        res.writeHead(500).end('down');
      });
    });
    await new Promise<void>((resolve) => failing.listen(0, '127.0.0.1', resolve));
    try {
      const c = config({ NOTIFY_WEBHOOK_URL: `http://127.0.0.1:${(failing.address() as net.AddressInfo).port}/hook` });
      const missing = uniqueName('pgk_notify_missing');
      assert.equal(await metricValue('pgkeeper_failures_total', 'backup', missing), 0);
      await withWorker(env, c, () =>
        assert.rejects(
          env.client.workflow.execute(backupDatabase, { args: [{ database: missing }], taskQueue: c.temporal.taskQueue, workflowId: databaseWorkflowId(c.temporal.taskQueue, missing) }),
        ),
      );
      assert.ok(attempts > 1, `the webhook was retried (${attempts} attempts), so a report retried with it would count again`);
      assert.equal(await metricValue('pgkeeper_failures_total', 'backup', missing), 1);
    } finally {
      failing.close();
    }
  });
});
