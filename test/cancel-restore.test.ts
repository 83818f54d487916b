/**
 * Cancelling a running restore, on a local store and on S3, from an encrypted backup of a database
 * big enough (3 M rows and an index) that pg_restore runs for a while. A cancelled restore must kill
 * every process, drop its staging database, release its pin, remove its scratch file and never
 * create the target.
 */
import assert from 'node:assert/strict';
import { promises as fs } from 'node:fs';
import { after, before, describe, it } from 'node:test';
import { WorkflowFailedError } from '@temporalio/client';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import { manifestKey } from '../common/backup-keys.js';
import { databaseWorkflowId } from '../common/names.js';
import type { BackupResult } from '../common/types.js';
import { applyRetention } from '../workflows/index.js';
import { ageKeyPair } from './helpers/age-keys.js';
import { testConfig, uniqueName } from './helpers/config.js';
import { writeFakeBackup } from './helpers/fake-backups.js';
import { stagingDatabases } from './helpers/leftovers.js';
import { createBigDatabase, databaseExists, dropDatabase, listDatabases } from './helpers/postgres.js';
import { waitFor } from './helpers/processes.js';
import { keysUnder, STORE_KINDS, storeUnderTest, type StoreUnderTest } from './helpers/stores.js';
import { startDevServer, withWorker } from './helpers/temporal.js';
import { tempDir } from './helpers/temp-dirs.js';
import { toolsBelow } from './helpers/tool-processes.js';
import { runBackup, startRestore } from './helpers/workflows.js';

const source = uniqueName('pgk_big');

before(async () => createBigDatabase(testConfig(), source));
after(async () => dropDatabase(testConfig(), source));

for (const kind of STORE_KINDS) {
  describe(`cancelling a running restore (${kind} store)`, () => {
    let env: TestWorkflowEnvironment;
    let t: StoreUnderTest;
    let backup: BackupResult;
    const into = uniqueName('pgk_big_copy');
    const scratch = tempDir('scratch');

    /** Until pg_restore runs into a staging database of `target` (the in-process worker's tools are this process's children). */
    const waitUntilRestoring = (target: string) =>
      waitFor(
        'pg_restore to run into a staging database',
        async () => {
          const [staging] = await stagingDatabases(t.config, target);
          return staging && toolsBelow().some((l) => l.startsWith('pg_restore ') && l.includes(`${target}_restoring_`)) ? staging : undefined;
        },
        120_000,
      );

    before(async () => {
      const age = ageKeyPair();
      t = await storeUnderTest(kind, { SCRATCH_DIR: scratch, ENCRYPT_RECIPIENTS: age.recipient, AGE_IDENTITY_FILE: age.identityFile });
      env = await startDevServer();
      backup = await withWorker(env, t.config, () => runBackup(env, t.config, source));
    });
    after(async () => {
      for (const name of (await listDatabases(t.config)).filter((n) => n.startsWith(into))) await dropDatabase(t.config, name);
      await env?.teardown();
      await t?.stop();
    });

    it('kills pg_restore, drops the staging database, releases the pin, removes the scratch file; the target never appears', async () => {
      const stored = [backup.archiveKey, `${backup.archiveKey}.sha256`, manifestKey(source, backup.backupId)].sort();
      assert.deepEqual(await keysUnder(t.store, `${source}/`), stored);
      await withWorker(env, t.config, async () => {
        const handle = await startRestore(env, t.config, { backup: backup.backupId, target: into });
        const staging = await waitUntilRestoring(into);
        // While it reads the backup, the backup is pinned in its store.
        assert.ok((await keysUnder(t.store, `${source}/`)).some((k) => k.includes('.pin.')), 'pinned while restoring');
        assert.equal((await fs.readdir(scratch)).length, 1, 'the scratch file pg_restore -j reads');

        await handle.cancel();
        await assert.rejects(handle.result(), (err) => err instanceof WorkflowFailedError && /cancel/i.test(String(err.cause)));
        // WAIT_CANCELLATION_COMPLETED: once the run is cancelled, its clean-up is done.
        assert.deepEqual(toolsBelow(), [], 'no pg_restore (nor any other tool) left running');
        assert.equal(await databaseExists(t.config, staging), false, `staging database ${staging} was dropped`);
        assert.deepEqual(await stagingDatabases(t.config, into), []);
        assert.equal(await databaseExists(t.config, into), false, 'the target was never created');
        assert.deepEqual(await fs.readdir(scratch), [], 'the scratch file is gone');
        assert.deepEqual(await keysUnder(t.store, `${source}/`), stored, 'the pin is released; the backup is untouched');
      });
    });

    it('retention running mid-restore keeps the backup it reads (pinned); once the restore is done, the pin is gone and retention may delete it', async () => {
      const copy = `${into}_pinned`;
      // A newer backup, so that keepLast: 1 makes the one being restored a candidate for deletion.
      await writeFakeBackup(t.store, source, 0);
      const retain = () =>
        env.client.workflow.execute(applyRetention, {
          args: [{ database: source, policy: { keepLast: 1 } }],
          taskQueue: t.config.temporal.taskQueue,
          workflowId: databaseWorkflowId(t.config.temporal.taskQueue, source),
        });
      await withWorker(env, t.config, async () => {
        const handle = await startRestore(env, t.config, { backup: backup.backupId, target: copy });
        await waitUntilRestoring(copy);
        const during = await retain();
        assert.equal(during.status, 'completed');
        const [store] = during.status === 'completed' ? during.stores : [];
        assert.deepEqual(store!.deleted, [], 'nothing deleted while the restore reads it');
        assert.deepEqual(store!.plan.find((d) => d.id === backup.backupId)?.reasons, ['pinned: a restore or drill is reading it']);

        const result = await handle.result();
        assert.equal(result.tables, 1);
        assert.equal(result.rows, 3_000_000);
        assert.deepEqual((await keysUnder(t.store, `${source}/`)).filter((k) => k.includes('.pin.')), [], 'the pin is released');
        assert.deepEqual(await fs.readdir(scratch), [], 'the scratch file is gone');

        const later = await retain();
        assert.deepEqual(later.status === 'completed' && later.stores[0]!.deleted, [backup.backupId], 'no longer pinned: deleted');
      });
    });
  });
}
