/**
 * Faults of an S3 store, against a real S3-compatible server (versitygw) that the tests stop and
 * start again: stopped mid-upload, stopped mid-download during a restore, wrong credentials, a
 * missing bucket, and a copy store (BACKUP_COPIES) that is down during a backup.
 */
import assert from 'node:assert/strict';
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { WorkflowFailedError, type WorkflowHandle } from '@temporalio/client';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import { completeBackups } from '../activities/store/backup-catalog.js';
import { progressSnapshot } from '../client/progress.js';
import { openStore } from '../activities/store/open-stores.js';
import { backupKeys } from '../common/backup-keys.js';
import type { Config } from '../common/config.js';
import { databaseWorkflowId } from '../common/names.js';
import type { BackupResult } from '../common/types.js';
import { backupDatabase } from '../workflows/index.js';
import { testConfig, uniqueName, workerEnvironment } from './helpers/config.js';
import { stagingDatabases, unfinishedWrites } from './helpers/leftovers.js';
import { createBigDatabase, dropDatabase, listDatabases, seedDatabase, sql, tableFingerprints } from './helpers/postgres.js';
import { waitFor } from './helpers/processes.js';
import { keysUnder, storeUnderTest, type StoreUnderTest } from './helpers/stores.js';
import { startDevServer, withWorker } from './helpers/temporal.js';
import { tempDir } from './helpers/temp-dirs.js';
import { runWorkerUntilExit } from './helpers/worker-with-env.js';
import { rootFailure, runBackup, startRestore } from './helpers/workflows.js';

/** The last failure of the named activity while the run retries it, once there is one. */
async function lastFailureOf(handle: WorkflowHandle, activity: string): Promise<{ message: string; type: string } | undefined> {
  const pending = (await handle.describe()).raw.pendingActivities ?? [];
  const failure = pending.find((a) => a.activityType?.name === activity)?.lastFailure;
  return failure ? { message: failure.message ?? '', type: failure.applicationFailureInfo?.type ?? '' } : undefined;
}

/** The worker's log lines at error level (pino JSON lines on stdout). */
/** The worker's start-up refusals: plain lines `pgkeeper worker: <problem>` on stderr, one per problem. */
function errorLines(output: string): string[] {
  return output
    .split('\n')
    .filter((l) => l.startsWith('pgkeeper worker: '))
    .map((l) => l.slice('pgkeeper worker: '.length));
}

describe('fault: S3 store', () => {
  let env: TestWorkflowEnvironment;
  let t: StoreUnderTest;
  const scratch = tempDir('scratch');
  const big = uniqueName('pgk_s3big');
  const small = uniqueName('pgk_s3small');
  const live = uniqueName('pgk_s3live');
  let backupId: string | undefined;

  before(async () => {
    t = await storeUnderTest('s3', { SCRATCH_DIR: scratch });
    env = await startDevServer();
    await createBigDatabase(t.config, big);
    await seedDatabase(t.config, small);
    await sql(t.config, 'postgres', `create database ${live}`);
    await sql(t.config, live, `create table customers (id int primary key, name text); insert into customers values (1, 'the live data')`);
  });
  after(async () => {
    for (const name of (await listDatabases(t.config)).filter((n) => [big, small, live].some((d) => n.startsWith(d)))) await dropDatabase(t.config, name);
    await env?.teardown();
    await t?.stop();
  });

  it('stopped mid-upload: the dump is retried once it is back; no partial object is listed; the interrupted multipart upload is aborted', async () => {
    const result = await withWorker(env, t.config, async () => {
      const handle = await env.client.workflow.start(backupDatabase, {
        args: [{ database: big }],
        taskQueue: t.config.temporal.taskQueue,
        workflowId: databaseWorkflowId(t.config.temporal.taskQueue, big),
      });
      await waitFor('the multipart upload to be under way', async () => (await unfinishedWrites(t, big)).length > 0, 60_000);
      // Meanwhile --wait shows the dump going, and nothing about retries (taken at once: the store is stopped while it uploads).
      const moving = await progressSnapshot(handle);
      assert.equal(moving?.phase, 'dumping');
      assert.equal(moving?.lastError, undefined);
      await t.s3!.kill();
      const failure = await waitFor('the dump to fail', () => lastFailureOf(handle, 'dumpDatabase'), 60_000);
      // Retryable, and saying what to check.
      assert.equal(failure.type, 'StoreUnavailable', failure.message);
      assert.match(failure.message, new RegExp(`^S3 endpoint ${t.s3!.endpoint} unavailable .* while writing ${big}/.*; check that it runs and is reachable, and the endpoint \\(the store URL's \\?endpoint=, or AWS_ENDPOINT_URL_S3\\)$`));
      // What `pgkeeper backup --wait` shows meanwhile: why the dump is not getting on.
      const shown = await progressSnapshot(handle);
      assert.equal(shown?.phase, 'dumping');
      assert.match(shown?.lastError ?? '', /^attempt \d+, the last failed: S3 endpoint /);
      assert.equal(shown?.done, undefined, 'no byte count of an attempt that failed');
      await t.s3!.restart();
      return handle.result();
    });
    assert.equal(result.status, 'completed');
    backupId = (result as BackupResult).backupId;
    const keys = backupKeys(big, backupId, [{ filter: 'zstd', level: 1 }]);
    assert.deepEqual(await keysUnder(t.store, `${big}/`), [keys.archive, keys.sidecar, keys.manifest].sort(), 'the complete backup, nothing partial');
    assert.deepEqual(await unfinishedWrites(t, big), [], 'the interrupted multipart upload was aborted');
  });

  it('stopped mid-download during a restore: the target is untouched meanwhile; the retried restore completes', async () => {
    backupId ??= (await withWorker(env, t.config, () => runBackup(env, t.config, big))).backupId;
    const liveBefore = await tableFingerprints(t.config, live);
    const result = await withWorker(env, t.config, async () => {
      const handle = await startRestore(env, t.config, { backup: backupId!, target: live, mode: 'replace', confirm: live });
      // Stopped while the archive streams into the scratch file: frozen at once, then killed.
      await waitFor(
        'the download to be under way',
        async () => {
          for (const name of await fs.readdir(scratch)) {
            if (((await fs.stat(path.join(scratch, name)).catch(() => undefined))?.size ?? 0) === 0) continue;
            t.s3!.pause();
            return true;
          }
          return false;
        },
        120_000,
      );
      await t.s3!.kill();
      const failure = await waitFor('the fetch to fail', () => lastFailureOf(handle, 'restoreIntoStaging'), 90_000);
      assert.equal(failure.type, 'StoreUnavailable', failure.message);

      // Nothing has touched the target; the failed attempt left no scratch file and no staging database.
      assert.deepEqual(await tableFingerprints(t.config, live), liveBefore);
      assert.deepEqual(await stagingDatabases(t.config, live), []);
      assert.deepEqual(await fs.readdir(scratch), []);

      await t.s3!.restart();
      return handle.result();
    });
    assert.equal(result.target, live);
    assert.deepEqual(await tableFingerprints(t.config, live), await tableFingerprints(t.config, big), 'the restored data is live');
    assert.deepEqual(await fs.readdir(scratch), [], 'no scratch file left');
  });

  it('wrong credentials: the worker refuses to start, with one line naming AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY', async () => {
    const wrong = `wrong${'x'.repeat(35)}`;
    const { exitCode, output } = await runWorkerUntilExit({ ...workerEnvironment(t.config), TEMPORAL_ADDRESS: env.address, AWS_SECRET_ACCESS_KEY: wrong });
    assert.equal(exitCode, 2, output);
    const errors = errorLines(output);
    assert.equal(errors.length, 1, output);
    // The first line a person reads is the cause (not the AWS SDK's notice about Node versions).
    assert.ok(output.startsWith(`pgkeeper worker: ${errors[0]}`), output);
    assert.match(errors[0]!, new RegExp(`^${t.s3!.endpoint} refused the credentials \\(.*\\) while writing .* in ${t.store.url}; check AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY .*bucket "${t.s3!.bucket}"$`));
    assert.ok(!output.includes(wrong) && !output.includes(t.s3!.credentials.secretAccessKey), 'no secret in the output');
  });

  it('a missing bucket: the worker refuses to start, with one line naming the bucket and BACKUP_STORE', async () => {
    const missing = `pgk-missing-${uniqueName('b').slice(2, 12)}`;
    const config = testConfig({
      BACKUP_STORE: `s3://${missing}/pgkeeper?endpoint=${t.s3!.endpoint}`,
      AWS_ACCESS_KEY_ID: t.s3!.credentials.accessKeyId,
      AWS_SECRET_ACCESS_KEY: t.s3!.credentials.secretAccessKey,
      AWS_REGION: t.s3!.region,
    });
    const { exitCode, output } = await runWorkerUntilExit({ ...workerEnvironment(config), TEMPORAL_ADDRESS: env.address });
    assert.equal(exitCode, 2, output);
    const errors = errorLines(output);
    assert.equal(errors.length, 1, output);
    assert.match(errors[0]!, new RegExp(`^bucket "${missing}" does not exist on ${t.s3!.endpoint} .*; create it, or fix the bucket in BACKUP_STORE`));
  });

  it('a copy store down: the primary is kept and the run fails loudly (CopyFailed naming the store); the next run fills the missing copy', { timeout: 300_000 }, async () => {
    // A local primary with its copy on the S3 server.
    const config: Config = testConfig({
      BACKUP_COPIES: `s3://${t.s3!.bucket}/copies?endpoint=${t.s3!.endpoint}`,
      AWS_ACCESS_KEY_ID: t.s3!.credentials.accessKeyId,
      AWS_SECRET_ACCESS_KEY: t.s3!.credentials.secretAccessKey,
      AWS_REGION: t.s3!.region,
    });
    const primary = openStore(config.stores.primary);
    const copy = openStore(config.stores.copies[0]!);
    await withWorker(env, config, async () => {
      await t.s3!.kill();
      let first: string;
      try {
        const err = await runBackup(env, config, small).catch((e: unknown) => e);
        assert.ok(err instanceof WorkflowFailedError, `the run failed: ${String(err)}`);
        const root = rootFailure(err);
        assert.equal(root.type, 'CopyFailed');
        // The first line a person sees: which backup is safe where, which copy failed and why.
        assert.match(err.cause!.message, new RegExp(`^backup (${small}-\\S+) is stored in ${primary.url}, but its copy to ${copy.url} failed: S3 endpoint .* unavailable`));
        first = /^backup (\S+) is stored/.exec(err.cause!.message)![1]!;
        assert.deepEqual((await completeBackups(primary, small)).map((b) => b.id), [first], 'the primary backup is complete');
      } finally {
        await t.s3!.restart();
      }
      assert.deepEqual(await completeBackups(copy, small), [], 'no copy was made');

      const second = await runBackup(env, config, small);
      assert.equal(second.status, 'completed');
      assert.deepEqual(second.stores, [
        { store: primary.url, role: 'primary', status: 'stored' },
        { store: copy.url, role: 'copy', status: 'copied' },
      ]);
      assert.deepEqual((await completeBackups(copy, small)).map((b) => b.id), [second.backupId, first], 'the copy store holds both backups: the missing copy was filled in');
    });
  });
});
