/**
 * Cancelling a running backup, on a local store and on S3. The dump is held mid-way by a table
 * lock, with the whole archive stream running (pg_dump, the two pg_restore taps, zstd and age).
 * A cancelled workflow, or a worker shut down, must kill every one of those processes and leave
 * nothing: no object in the store (not even the dump's facts), no unfinished write, nothing in
 * SCRATCH_DIR.
 */
import assert from 'node:assert/strict';
import { promises as fs } from 'node:fs';
import { after, before, describe, it } from 'node:test';
import type pg from 'pg';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import { WorkflowFailedError, type WorkflowHandle } from '@temporalio/client';
import { completeBackups } from '../activities/store/backup-catalog.js';
import { databaseWorkflowId } from '../common/names.js';
import { backupDatabase, restoreDatabase } from '../workflows/index.js';
import { ageKeyPair } from './helpers/age-keys.js';
import { uniqueName } from './helpers/config.js';
import { unfinishedWrites } from './helpers/leftovers.js';
import { dropDatabase, holdTableLock, seedDatabase } from './helpers/postgres.js';
import { waitFor } from './helpers/processes.js';
import { keysUnder, STORE_KINDS, storeUnderTest, type StoreUnderTest } from './helpers/stores.js';
import { startDevServer, startWorker, withWorker } from './helpers/temporal.js';
import { tempDir } from './helpers/temp-dirs.js';
import { STREAM_TOOLS, toolNames, toolsBelow } from './helpers/tool-processes.js';

for (const kind of STORE_KINDS) {
  describe(`cancelling a running dump (${kind} store)`, () => {
    let env: TestWorkflowEnvironment;
    let t: StoreUnderTest;
    const database = uniqueName('pgk_cancel');
    const scratch = tempDir('scratch');
    let lock: pg.Client;

    const startBackup = (workflowId: string) =>
      env.client.workflow.start(backupDatabase, { args: [{ database }], taskQueue: t.config.temporal.taskQueue, workflowId });

    /**
     * Until every tool of the stream runs (the in-process worker's tools are this process's
     * children) and the dump has written its facts: the dump is under way, held by the lock.
     */
    const waitUntilDumping = async () => {
      // pg_dump and both taps on pg_dump's bytes, the table of contents and the read-through: on a
      // busy machine the second pg_restore may start a moment after the rest, so it is waited for too.
      await waitFor('the whole archive stream to run', async () => {
        const facts = (await keysUnder(t.store, `${database}/`)).some((k) => k.endsWith('.facts.json'));
        const tools = toolsBelow();
        return facts && toolNames(tools).join() === [...STREAM_TOOLS].sort().join() && tools.filter((l) => l.startsWith('pg_restore ')).length === 2;
      });
    };

    const assertNothingLeft = async () => {
      await waitFor('every tool of the stream to exit', () => toolsBelow().length === 0);
      assert.deepEqual(await keysUnder(t.store, `${database}/`), [], 'no object of the dump is left, its facts included');
      assert.deepEqual(await unfinishedWrites(t, database), [], 'no unfinished write is left');
      assert.deepEqual(await fs.readdir(scratch), [], 'nothing in SCRATCH_DIR');
    };

    before(async () => {
      // Encrypted, so that age runs in the stream too.
      t = await storeUnderTest(kind, { SCRATCH_DIR: scratch, ENCRYPT_RECIPIENTS: ageKeyPair().recipient });
      env = await startDevServer();
      await seedDatabase(t.config, database);
      lock = await holdTableLock(t.config, database);
    });
    after(async () => {
      await lock?.end();
      await dropDatabase(t.config, database);
      await env?.teardown();
      await t?.stop();
    });

    it('while a backup runs, a second backup is skipped and a restore into the same database is refused', async () => {
      await withWorker(env, t.config, async () => {
        const running = await startBackup(databaseWorkflowId(t.config.temporal.taskQueue, database));
        try {
          await waitUntilDumping();
          // Started the way the Temporal UI or a schedule would: under an id of their own.
          const second = await env.client.workflow.execute(backupDatabase, {
            args: [{ database }],
            taskQueue: t.config.temporal.taskQueue,
            workflowId: uniqueName('ui-backup'),
          });
          assert.deepEqual(second, {
            status: 'skipped',
            database,
            reason: `skipped: another pgkeeper operation on "${database}" is running (${running.workflowId})`,
          });
          const restore = await env.client.workflow
            .execute(restoreDatabase, {
              args: [{ backup: 'latest', database, target: database, mode: 'replace', confirm: database }],
              taskQueue: t.config.temporal.taskQueue,
              workflowId: uniqueName('ui-restore'),
            })
            .catch((e: unknown) => e);
          assert.ok(restore instanceof WorkflowFailedError);
          assert.match(String(restore.cause?.message), new RegExp(`refused: another pgkeeper operation on "${database}" is running \\(${running.workflowId}\\)`));
        } finally {
          await running.cancel(); // also when an assertion failed: the next tests need the database free
        }
        await assert.rejects(running.result());
      });
      await assertNothingLeft();
    });

    it('cancelling the workflow kills pg_dump, both pg_restores, zstd and age, and leaves nothing', async () => {
      await withWorker(env, t.config, async () => {
        const handle = await startBackup(uniqueName('cancel'));
        await waitUntilDumping();
        await handle.cancel();
        await assert.rejects(handle.result(), (err) => err instanceof WorkflowFailedError && /cancel/i.test(String(err.cause)));
        // WAIT_CANCELLATION_COMPLETED: by the time the workflow is cancelled, the clean-up has happened.
        assert.equal((await handle.describe()).status.name, 'CANCELLED');
        assert.deepEqual(toolsBelow(), [], 'no tool outlives the cancelled activity');
        await assertNothingLeft();
      });
    });

    it('a worker shut down mid-dump kills every tool and leaves nothing; the run resumes on another worker', async () => {
      const worker = await startWorker(env, t.config, '1s');
      const running = worker.run();
      let handle: WorkflowHandle<typeof backupDatabase>;
      try {
        handle = await startBackup(uniqueName('shutdown'));
        await waitUntilDumping();
      } finally {
        worker.shutdown(); // what SIGTERM does
        await running;
      }
      await assertNothingLeft();

      // Temporal retries the interrupted dump; once the lock is gone it completes on a new worker.
      await lock.end();
      const result = await withWorker(env, t.config, () => handle.result());
      assert.equal(result.status, 'completed');
      if (result.status !== 'completed') return;
      assert.deepEqual((await completeBackups(t.store, database)).map((b) => b.id), [result.backupId]);
      assert.deepEqual((await keysUnder(t.store, `${database}/`)).filter((k) => k.endsWith('.facts.json')), [], 'the facts became the manifest');
      assert.deepEqual(await unfinishedWrites(t, database), []);
    });
  });
}
