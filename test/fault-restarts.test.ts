/**
 * Faults: the test run's own PostgreSQL restarted, or killed and started again, mid-dump; the
 * Temporal server stopped and started mid-workflow.
 */
import assert from 'node:assert/strict';
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { TestWorkflowEnvironment } from '@temporalio/testing';
import { completeBackups } from '../activities/store/backup-catalog.js';
import { openStore } from '../activities/store/open-stores.js';
import { databaseWorkflowId } from '../common/names.js';
import { SEARCH_ATTRIBUTES } from '../common/search-attributes.js';
import type { BackupResult, BackupSkipped } from '../common/types.js';
import { backupDatabase } from '../workflows/index.js';
import { backupDir, testConfig, uniqueName } from './helpers/config.js';
import { dropDatabase, holdTableLock, seedDatabase } from './helpers/postgres.js';
import { freePort } from './helpers/ports.js';
import { killPostgres, postmasterPid, restartPostgres, startPostgres } from './helpers/postgres-server.js';
import { processesMatching, waitFor } from './helpers/processes.js';
import { startDevServer, temporalCliPath, withWorker } from './helpers/temporal.js';
import { tempDir } from './helpers/temp-dirs.js';
import { spawnWorker } from './helpers/worker-process.js';

describe('fault: restarts', () => {
  const config = testConfig();
  const database = uniqueName('pgk_restart');
  const store = openStore(config.stores.primary);

  /** The run's backup is complete in the store, and the interrupted attempt left nothing beside it. */
  const assertStored = async (result: BackupResult | BackupSkipped) => {
    assert.equal(result.status, 'completed');
    if (result.status !== 'completed') return;
    assert.ok((await completeBackups(store, database)).some((b) => b.id === result.backupId), `${result.backupId} is complete in the store`);
    const leftovers = (await fs.readdir(path.join(backupDir(config), database))).filter((f) => f.endsWith('.partial') || f.endsWith('.facts.json'));
    assert.deepEqual(leftovers, [], 'no partial file, no facts of an interrupted attempt');
  };

  before(async () => {
    await seedDatabase(config, database);
  });
  after(async () => {
    await dropDatabase(config, database);
  });

  /**
   * Starts a backup, lets pg_dump run (waiting on a held lock), then `disrupt`s PostgreSQL; the
   * run must retry an activity and complete, its backup stored with nothing left beside it.
   */
  const backupThrough = async (disrupt: () => Promise<void>) => {
    const env = await startDevServer();
    try {
      const lock = await holdTableLock(config, database);
      const result = await withWorker(env, config, async () => {
        const handle = await env.client.workflow.start(backupDatabase, {
          args: [{ database }],
          taskQueue: config.temporal.taskQueue,
          workflowId: databaseWorkflowId(config.temporal.taskQueue, database),
        });
        await waitFor('pg_dump to run', () => processesMatching(`pg_dump.*${database}`).length > 0);
        await disrupt(); // ends the lock's session and pg_dump's
        await lock.end().catch(() => undefined);
        const done = await handle.result();
        const history = await handle.fetchHistory();
        const retried = history.events!.some((e) => (e.activityTaskStartedEventAttributes?.attempt ?? 0) > 1);
        assert.ok(retried, 'an activity was retried after the disruption');
        return done;
      });
      await assertStored(result);
    } finally {
      await env.teardown();
    }
  };

  it('PostgreSQL restarted mid-dump: the dump is retried and the backup completes', async () => {
    await backupThrough(async () => restartPostgres());
  });

  it('PostgreSQL killed (SIGKILL) mid-dump and started again with crash recovery: the backup completes', async () => {
    await backupThrough(async () => {
      const killed = postmasterPid();
      await killPostgres(); // every session ends with it
      await waitFor('pg_dump to fail', () => processesMatching(`pg_dump.*${database}`).length === 0);
      startPostgres();
      assert.notEqual(postmasterPid(), killed, 'a new postmaster runs');
    });
  });

  it('the Temporal server stopped and started again on the same state file: the workflow completes', async () => {
    const dbFilename = path.join(tempDir('temporal'), 'temporal.db');
    const port = await freePort();
    const start = () =>
      TestWorkflowEnvironment.createLocal({
        server: { executable: { type: 'existing-path', path: temporalCliPath() }, dbFilename, port, searchAttributes: SEARCH_ATTRIBUTES },
      });
    const lock = await holdTableLock(config, database);
    const first = await start();
    const worker = await spawnWorker(first.address, config);
    try {
      const workflowId = databaseWorkflowId(config.temporal.taskQueue, database);
      await first.client.workflow.start(backupDatabase, { args: [{ database }], taskQueue: config.temporal.taskQueue, workflowId });
      await waitFor('pg_dump to run', () => processesMatching(`pg_dump.*${database}`).length > 0);
      await first.teardown(); // the server goes away mid-dump

      const second = await start();
      try {
        await lock.end(); // the dump can finish now, while the worker reconnects
        const result = await second.client.workflow.getHandle<typeof backupDatabase>(workflowId).result();
        await assertStored(result);
      } finally {
        await second.teardown();
      }
    } finally {
      await worker.kill('SIGTERM');
    }
  });
});
