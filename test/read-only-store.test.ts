/**
 * A worker that may only read its store (here a read-only bind mount of the backup directory, as a
 * restore worker kept apart from the backups' writer would have): restores and drills still work,
 * and what they could not write (the pin, the drill's proof) is said in their results, never a
 * failed run. A backup there fails at once with the cause and the fix.
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { mkdirSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { after, before, describe, it } from 'node:test';
import { WorkflowFailedError } from '@temporalio/client';
import { MockActivityEnvironment, type TestWorkflowEnvironment } from '@temporalio/testing';
import { execa } from 'execa';
import { resolveBackup } from '../activities/resolve-backup.js';
import { restoreIntoStaging } from '../activities/restore-archive.js';
import { openStore } from '../activities/store/open-stores.js';
import { databaseWorkflowId } from '../common/names.js';
import { stagingName } from '../common/restore-input.js';
import type { ResolvedBackup, StagingRestore } from '../common/types.js';
import { backupDatabase, restoreDrill } from '../workflows/index.js';
import { backupDir, testConfig, uniqueName, workerEnvironment } from './helpers/config.js';
import { dropDatabase, seedDatabase, tableFingerprints } from './helpers/postgres.js';
import { withSlowZstdDecompression } from './helpers/slow-zstd.js';
import { keysUnder } from './helpers/stores.js';
import { tempDir } from './helpers/temp-dirs.js';
import { startDevServer, withWorker } from './helpers/temporal.js';
import { runWorkerUntilExit } from './helpers/worker-with-env.js';
import { rootFailure, runBackup, runRestore } from './helpers/workflows.js';

const ROOT = fileURLToPath(new URL('..', import.meta.url));

describe('a store this worker may only read', () => {
  let env: TestWorkflowEnvironment;
  // A copy store both may write: a restore pins the copy it may fall back on even where it cannot pin the backup itself.
  const copyDir = `file://${path.join(tempDir('copy'), 'offsite')}`;
  mkdirSync(copyDir.slice('file://'.length)); // a store's directory is made by a person, not the worker
  const writer = testConfig({ BACKUP_COPIES: copyDir });
  const readOnlyDir = path.join(tempDir('read-only'), 'backups');
  const reader = testConfig({ BACKUP_DIR: readOnlyDir, BACKUP_COPIES: copyDir });
  const source = uniqueName('pgk_ro');
  const into = uniqueName('pgk_ro_restored');
  let mounted = false;

  before(async () => {
    env = await startDevServer();
    await seedDatabase(writer, source);
    mkdirSync(readOnlyDir);
    execFileSync('mount', ['--bind', backupDir(writer), readOnlyDir]);
    mounted = true;
    execFileSync('mount', ['-o', 'remount,ro,bind', readOnlyDir]);
  });
  after(async () => {
    if (mounted) execFileSync('umount', [readOnlyDir]);
    for (const db of [source, into]) await dropDatabase(writer, db);
    await env?.teardown();
  });

  it('restore and drill read it; the pin and the proof they cannot write are warnings and reasons, not failures; a backup is refused with the fix', async () => {
    const backup = await withWorker(env, writer, () => runBackup(env, writer, source));
    const store = openStore(reader.stores.primary);
    const before = await keysUnder(store, `${source}/`);

    await withWorker(env, reader, async () => {
      const restored = await runRestore(env, reader, { backup: 'latest', database: source, target: into });
      assert.equal(restored.backup.label, backup.backupId);
      assert.deepEqual(await tableFingerprints(reader, into), await tableFingerprints(reader, source));
      assert.ok(
        restored.warnings.some((w) => w.startsWith(`the backup could not be pinned in ${store.url} (${store.url} is on a read-only file system`)),
        restored.warnings.join('\n'),
      );
      const history = await env.client.workflow.getHandle(databaseWorkflowId(reader.temporal.taskQueue, into)).fetchHistory();
      const activities = history.events!.map((e) => e.activityTaskScheduledEventAttributes?.activityType?.name).filter(Boolean);
      assert.ok(activities.includes('resolveBackup') && !activities.includes('unpinBackup'), `no pin to remove: ${activities.join(', ')}`);

      const drill = await env.client.workflow.execute(restoreDrill, { args: [{ database: source }], taskQueue: reader.temporal.taskQueue, workflowId: uniqueName('drill') });
      assert.equal(drill.backupId, backup.backupId);
      assert.equal(drill.proofRecorded, false);
      assert.match(drill.proofNotRecorded ?? '', new RegExp(`^the store refused it: ${store.url} is on a read-only file system \\(writing ${source}/.*\\.drill\\.json\\); mount it writable`));

      const drilled = await execa(`${ROOT}/bin/pgkeeper`, ['drill', source, '--wait'], {
        reject: false,
        extendEnv: false,
        env: { PATH: process.env.PATH!, HOME: process.env.HOME!, TEMPORAL_ADDRESS: env.address, TASK_QUEUE: reader.temporal.taskQueue },
      });
      assert.equal(drilled.exitCode, 0, drilled.stderr);
      assert.match(drilled.stdout, /^restore of .* proven: /m);
      assert.match(drilled.stdout, /^ {2}proof {6}not recorded: the store refused it: file:\/\/.* is on a read-only file system/m);

      const err = await env.client.workflow
        .execute(backupDatabase, { args: [{ database: source }], taskQueue: reader.temporal.taskQueue, workflowId: databaseWorkflowId(reader.temporal.taskQueue, source) })
        .catch((e: unknown) => e);
      assert.ok(err instanceof WorkflowFailedError, String(err));
      assert.match(rootFailure(err).message, new RegExp(`^${store.url} is on a read-only file system \\(.*\\); mount it writable for the worker, or change BACKUP_DIR$`));
    });
    assert.deepEqual(await keysUnder(store, `${source}/`), before, 'nothing was written, nothing removed');
  });

  it('a worker process starts on it (a restoring worker, on a disk mounted read-only), saying backups to it fail', async () => {
    const run = await runWorkerUntilExit({ ...workerEnvironment(reader), TEMPORAL_ADDRESS: '127.0.0.1:1' });
    const said = run.output.split('\n').filter(Boolean).map((line) => (JSON.parse(line) as { msg: string }).msg);
    assert.match(said[0] ?? '', /is on a read-only file system .*\(the worker starts anyway: restores and drills read the store; backups and copies to it fail\)$/, run.output);
    assert.ok(said.some((m) => m.startsWith('cannot reach Temporal at 127.0.0.1:1')), `it went on to connect: ${run.output}`);
  });

  it('the copies are pinned while the backup is read, though its own store refused the pin', async () => {
    const backup = await withWorker(env, writer, () => runBackup(env, writer, source));
    const copy = openStore(reader.stores.copies[0]!);
    const resolved = (await new MockActivityEnvironment().run(resolveBackup, reader, { backup: backup.backupId, database: source, pin: randomUUID() })) as ResolvedBackup;
    assert.equal(resolved.store, `file://${readOnlyDir}`);
    assert.equal(resolved.pinRefused, true);
    assert.ok(resolved.pinKey);
    const pinsInCopy = () => keysUnder(copy, `${source}/${backup.backupId}.pin.`);
    const seen: Promise<string[]>[] = [];
    const activity = new MockActivityEnvironment();
    activity.on('heartbeat', () => seen.push(pinsInCopy()));
    const staging = stagingName(into, randomUUID());
    try {
      // The read outlasts a heartbeat.
      const restored = (await withSlowZstdDecompression(() => activity.run(restoreIntoStaging, reader, { backup: resolved, staging, jobs: 1, noOwner: false, noPrivileges: false }))) as StagingRestore;
      assert.equal(restored.store, resolved.store);
    } finally {
      await dropDatabase(reader, staging);
    }
    assert.ok((await Promise.all(seen)).some((keys) => keys.includes(resolved.pinKey!)), 'the copy was pinned during the read');
    assert.deepEqual(await pinsInCopy(), [], 'and unpinned after it');
  });
});
