import assert from 'node:assert/strict';
import { existsSync, promises as fs } from 'node:fs';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import type pg from 'pg';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import { WorkflowFailedError, type WorkflowHandle } from '@temporalio/client';
import { backupDatabase, restoreDatabase } from '../workflows/index.js';
import { databaseWorkflowId } from '../common/names.js';
import { testConfig, uniqueName } from './helpers/config.js';
import { dropDatabase, holdTableLock, seedDatabase } from './helpers/postgres.js';
import { processesMatching, waitFor } from './helpers/processes.js';
import { startDevServer, startWorker, withWorker } from './helpers/temporal.js';
import type { Config } from '../common/config.js';

async function waitUntilDumping(config: Config, database: string): Promise<void> {
  await waitFor('pg_dump to run with its partial file open', async () => {
    const dir = path.join(config.backupDir, database);
    const partial = existsSync(dir) && (await fs.readdir(dir)).some((f) => f.endsWith('.dump.partial'));
    return partial && processesMatching(`pg_dump.*${database}`).length > 0;
  });
}

async function assertCleanedUp(config: Config, database: string): Promise<void> {
  await waitFor('pg_dump to exit', () => processesMatching(`pg_dump.*${database}`).length === 0);
  const files = await fs.readdir(path.join(config.backupDir, database));
  assert.deepEqual(files, [], `left behind: ${files.join(', ')}`);
}

describe('cancelling a running dump', () => {
  let env: TestWorkflowEnvironment;
  const config = testConfig();
  const database = uniqueName('pgk_cancel');
  let lock: pg.Client;

  before(async () => {
    env = await startDevServer();
    await seedDatabase(config, database);
    lock = await holdTableLock(config, database);
  });
  after(async () => {
    await lock?.end();
    await dropDatabase(config, database);
    await env?.teardown();
  });

  it('while a backup runs, a second backup is skipped and a restore into the same database is refused', async () => {
    await withWorker(env, config, async () => {
      const running = await env.client.workflow.start(backupDatabase, {
        args: [{ database }],
        taskQueue: config.temporal.taskQueue,
        workflowId: databaseWorkflowId(config.temporal.taskQueue, database),
      });
      await waitUntilDumping(config, database);
      // Started the way the Temporal UI or a schedule would: under an id of their own.
      const second = await env.client.workflow.execute(backupDatabase, {
        args: [{ database }],
        taskQueue: config.temporal.taskQueue,
        workflowId: uniqueName('ui-backup'),
      });
      assert.deepEqual(second, {
        status: 'skipped',
        database,
        reason: `skipped: a backup of ${database} is already running (${running.workflowId})`,
      });
      const restore = await env.client.workflow
        .execute(restoreDatabase, {
          args: [{ backup: 'latest', database, target: database, mode: 'replace', confirm: database }],
          taskQueue: config.temporal.taskQueue,
          workflowId: uniqueName('ui-restore'),
        })
        .catch((e: unknown) => e);
      assert.ok(restore instanceof WorkflowFailedError);
      assert.match(String(restore.cause?.message), new RegExp(`refused: another pgkeeper operation on "${database}" is running \\(${running.workflowId}\\)`));
      await running.cancel();
      await assert.rejects(running.result());
    });
    await assertCleanedUp(config, database);
  });

  it('cancelling the workflow kills pg_dump and removes the partial file', async () => {
    await withWorker(env, config, async () => {
      const handle = await env.client.workflow.start(backupDatabase, {
        args: [{ database }],
        taskQueue: config.temporal.taskQueue,
        workflowId: uniqueName('cancel'),
      });
      await waitUntilDumping(config, database);
      await handle.cancel();
      await assert.rejects(handle.result(), (err) => err instanceof WorkflowFailedError && /cancel/i.test(String(err.cause)));
      // WAIT_CANCELLATION_COMPLETED: by the time the workflow is cancelled, the cleanup has happened.
      assert.equal((await handle.describe()).status.name, 'CANCELLED');
      await assertCleanedUp(config, database);
    });
  });

  it('a worker shut down mid-dump kills pg_dump and removes the partial file; the run resumes on another worker', async () => {
    const worker = await startWorker(env, config, '1s');
    const running = worker.run();
    let handle: WorkflowHandle<typeof backupDatabase>;
    try {
      handle = await env.client.workflow.start(backupDatabase, {
        args: [{ database }],
        taskQueue: config.temporal.taskQueue,
        workflowId: uniqueName('shutdown'),
      });
      await waitUntilDumping(config, database);
    } finally {
      worker.shutdown(); // what SIGTERM does
      await running;
    }
    await assertCleanedUp(config, database);

    // Temporal retries the interrupted dump; once the lock is gone it completes on a new worker.
    await lock.end();
    const result = await withWorker(env, config, () => handle.result());
    assert.equal(result.status, 'completed');
    assert.ok(existsSync(result.manifestPath));
  });
});
