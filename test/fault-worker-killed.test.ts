/**
 * Faults: a worker killed with SIGKILL in the middle of a dump, and in the middle of a restore.
 * Another worker takes the activity over after the heartbeat timeout (30 s), so each test takes
 * about that long.
 */
import assert from 'node:assert/strict';
import { existsSync, promises as fs } from 'node:fs';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import { listCompleteBackups } from '../activities/backup-store.js';
import { testConfig, uniqueName } from './helpers/config.js';
import { createBigDatabase, databaseExists, dropDatabase, holdTableLock, listDatabases, seedDatabase, tableFingerprints } from './helpers/postgres.js';
import { processesMatching, waitFor } from './helpers/processes.js';
import { startDevServer, withWorker } from './helpers/temporal.js';
import { spawnWorker } from './helpers/worker-process.js';
import { runBackup, startRestore } from './helpers/workflows.js';
import { databaseWorkflowId } from '../common/names.js';
import { backupDatabase } from '../workflows/index.js';

describe('fault: worker killed', () => {
  let env: TestWorkflowEnvironment;
  const config = testConfig();
  const small = uniqueName('pgk_kill');
  const big = uniqueName('pgk_killbig');

  before(async () => {
    env = await startDevServer();
    await seedDatabase(config, small);
    await createBigDatabase(config, big);
  });
  after(async () => {
    for (const name of (await listDatabases(config)).filter((n) => n.startsWith(small) || n.startsWith(big))) await dropDatabase(config, name);
    await env?.teardown();
  });

  it('SIGKILL mid-dump: a second worker completes the backup; exactly one complete backup, nothing partial', async () => {
    const lock = await holdTableLock(config, small); // holds pg_dump mid-dump
    const first = await spawnWorker(env.address, config);
    const handle = await env.client.workflow.start(backupDatabase, {
      args: [{ database: small }],
      taskQueue: config.temporal.taskQueue,
      workflowId: databaseWorkflowId(config.temporal.taskQueue, small),
    });
    await waitFor('pg_dump to run', () => processesMatching(`pg_dump.*${small}`).length > 0);
    await first.kill('SIGKILL');
    await lock.end();

    const result = await withWorker(env, config, () => handle.result());
    assert.equal(result.status, 'completed');
    const complete = await listCompleteBackups(config.backupDir, small);
    assert.deepEqual(complete.map((b) => b.manifest.id), [result.backupId]);
    const files = await fs.readdir(path.join(config.backupDir, small));
    assert.deepEqual(files.filter((f) => f.endsWith('.partial')), []);
    const history = await handle.fetchHistory();
    const dumpAttempts = history.events!.filter((e) => e.activityTaskStartedEventAttributes && e.activityTaskStartedEventAttributes.attempt! > 1);
    assert.ok(dumpAttempts.length >= 1, 'the dump was retried after the worker died');
    await waitFor('the orphaned pg_dump to exit', () => processesMatching(`pg_dump.*${small}`).length === 0);
  });

  it('SIGKILL mid-restore: the target is untouched until the resumed restore swaps in; no staging database is left', async () => {
    const backup = await withWorker(env, config, () => runBackup(env, config, big));
    const target = `${big}_copy`;
    const first = await spawnWorker(env.address, config);
    const handle = await startRestore(env, config, { backup: backup.backupId, target });
    await waitFor('pg_restore to run into staging', () => processesMatching(`pg_restore.*${target}_restoring_`).length > 0, 60_000);
    await first.kill('SIGKILL');
    assert.equal(await databaseExists(config, target), false, 'the target does not exist while the restore is interrupted');

    const result = await withWorker(env, config, () => handle.result());
    assert.equal(result.target, target);
    assert.deepEqual(await tableFingerprints(config, target), await tableFingerprints(config, big));
    assert.deepEqual((await listDatabases(config)).filter((n) => n.includes('_restoring_')), [], 'no staging database left');
    await waitFor('no pg_restore left running', () => processesMatching(`pg_restore.*${target}`).length === 0, 60_000);
    assert.ok(existsSync(backup.dumpPath));
  });

  it('the read-through pg_restore killed mid-dump: nothing hangs; the dump is retried and the backup completes', { timeout: 120_000 }, async () => {
    await withWorker(env, config, async () => {
      const handle = await env.client.workflow.start(backupDatabase, {
        args: [{ database: big }],
        taskQueue: config.temporal.taskQueue,
        workflowId: databaseWorkflowId(config.temporal.taskQueue, big),
      });
      const [pid] = await waitFor('the read-through to run', () => {
        const found = processesMatching('pg_restore --file=/dev/null$');
        return found.length > 0 ? found.map((line) => Number(line.split(' ')[0])) : undefined;
      });
      process.kill(pid!, 'SIGKILL'); // as the OOM killer would
      const result = await handle.result();
      assert.equal(result.status, 'completed');
      const history = await handle.fetchHistory();
      const dumpScheduled = history.events!.find((e) => e.activityTaskScheduledEventAttributes?.activityType?.name === 'dumpDatabase')!;
      const started = history.events!.find((e) => String(e.activityTaskStartedEventAttributes?.scheduledEventId) === String(dumpScheduled.eventId))!;
      assert.ok(started.activityTaskStartedEventAttributes!.attempt! >= 2, 'the dump was retried');
      assert.deepEqual((await fs.readdir(path.join(config.backupDir, big))).filter((f) => f.endsWith('.partial')), []);
    });
  });
});
