/**
 * Fault: BACKUP_DIR on a tiny filesystem that fills up. A real tmpfs of 8 MiB is mounted for the
 * test (needs root, as CI has here), so the kernel itself answers ENOSPC.
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { WorkflowFailedError } from '@temporalio/client';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import { completeBackups } from '../activities/store/backup-catalog.js';
import { openStore } from '../activities/store/open-stores.js';
import { databaseWorkflowId } from '../common/names.js';
import { backupDatabase } from '../workflows/index.js';
import { testConfig, uniqueName } from './helpers/config.js';
import { createDatabase, dropDatabase, seedDatabase, sql } from './helpers/postgres.js';
import { startDevServer, withWorker } from './helpers/temporal.js';
import { tempDir } from './helpers/temp-dirs.js';
import { rootFailure, runBackup } from './helpers/workflows.js';

describe('fault: disk full', () => {
  let env: TestWorkflowEnvironment;
  const mountPoint = tempDir('tinyfs');
  const config = testConfig({ BACKUP_DIR: mountPoint });
  const small = uniqueName('pgk_small');
  const large = uniqueName('pgk_large');

  before(async () => {
    execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=8m', 'tmpfs', mountPoint]);
    env = await startDevServer();
    await seedDatabase(config, small);
    await createDatabase(config, large);
    // ~25 MB of hard-to-compress text: its archive cannot fit in 8 MiB.
    await sql(config, large, `create table t as select g, md5(random()::text) || md5(random()::text) as r from generate_series(1, 400000) g`);
  });
  after(async () => {
    await dropDatabase(config, small);
    await dropDatabase(config, large);
    await env?.teardown();
    execFileSync('umount', [mountPoint]);
  });

  it('fails with a clear "no space left on device", without retrying, removes the partial file and keeps older backups', async () => {
    await withWorker(env, config, async () => {
      const older = await runBackup(env, config, small);
      const workflowId = databaseWorkflowId(config.temporal.taskQueue, large);
      const err = await env.client.workflow
        .execute(backupDatabase, { args: [{ database: large }], taskQueue: config.temporal.taskQueue, workflowId })
        .catch((e: unknown) => e);
      assert.ok(err instanceof WorkflowFailedError);
      const failure = rootFailure(err);
      assert.equal(failure.type, 'DiskFull', failure.message);
      assert.match(failure.message, new RegExp(`^no space left on device while writing ${large}/.*\\.dump\\.zst in file://${mountPoint}; free space there or point BACKUP_DIR at a larger disk$`));

      const history = await env.client.workflow.getHandle(workflowId).fetchHistory();
      const dumpScheduled = history.events!.filter((e) => e.activityTaskScheduledEventAttributes?.activityType?.name === 'dumpDatabase');
      const attempts = history.events!.filter((e) => String(e.activityTaskStartedEventAttributes?.scheduledEventId) === String(dumpScheduled[0]!.eventId));
      assert.equal(attempts[0]!.activityTaskStartedEventAttributes!.attempt, 1, 'not retried');

      // Nothing of the failed dump: no partial file, no facts, no archive.
      assert.deepEqual(await fs.readdir(path.join(mountPoint, large)), [], 'nothing partial left');
      // The older backup is whole: complete, and its archive still matches its sidecar.
      assert.deepEqual((await completeBackups(openStore(config.stores.primary), small)).map((b) => b.id), [older.backupId]);
      execFileSync('sha256sum', ['-c', `${path.basename(older.archiveKey)}.sha256`], { cwd: path.join(mountPoint, small) });
    });
  });

  it('a disk that fills up as the backup is published (its archive fits, its sidecar or manifest does not): the archive goes too, nothing of it left', async () => {
    await withWorker(env, config, async () => {
      const folder = path.join(mountPoint, small);
      const before = (await fs.readdir(folder)).sort();
      const fill = path.join(mountPoint, 'fill');
      const freePages = () => Number(execFileSync('df', ['-B4096', '--output=avail', mountPoint]).toString().trim().split('\n')[1]);
      const archivePages = Math.ceil((await fs.stat(path.join(mountPoint, (await runBackup(env, config, small)).archiveKey))).size / 4096);
      const whilePublishing: string[] = [];
      try {
        // Room for about the archive and its facts, give or take a page: some of these runs fail while publishing.
        for (let room = archivePages - 1; room <= archivePages + 3; room++) {
          const kept = (await fs.readdir(folder)).sort();
          await fs.rm(fill, { force: true });
          execFileSync('fallocate', ['-l', String((freePages() - room) * 4096), fill]);
          const err = await runBackup(env, config, small).catch((e: unknown) => e);
          if (!(err instanceof WorkflowFailedError)) continue; // it all fitted
          const failure = rootFailure(err);
          assert.equal(failure.type, 'DiskFull', failure.message);
          assert.deepEqual((await fs.readdir(folder)).sort(), kept, `nothing left of the failed backup (${failure.message})`);
          if (/\.(sha256|manifest\.json) in /.test(failure.message)) {
            whilePublishing.push(failure.message);
            assert.match(failure.message, /\. \S+ was not published: its archive was removed$/);
          }
        }
      } finally {
        await fs.rm(fill, { force: true });
      }
      assert.ok(whilePublishing.length > 0, 'some run failed while publishing');
      const after = await fs.readdir(folder);
      assert.ok(before.every((f) => after.includes(f)), 'the older backups stay');
    });
  });
});
