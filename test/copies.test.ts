/**
 * 3-2-1: every backup is copied to each BACKUP_COPIES store, read back and proven before the copy's
 * manifest is written; listings say where each backup exists, and which store did not answer; restores and drills read from the
 * first store that has the backup intact, or from the store they name.
 */
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { execFileSync } from 'node:child_process';
import { mkdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { after, before, describe, it } from 'node:test';
import { setTimeout } from 'node:timers/promises';
import { WorkflowFailedError } from '@temporalio/client';
import type { ApplicationFailure } from '@temporalio/common';
import { MockActivityEnvironment } from '@temporalio/testing';
import { Worker } from '@temporalio/worker';
import { execa } from 'execa';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import { listBackups as listEveryBackup } from '../activities/list-backups.js';
import { applyGlobals, type ApplyGlobalsResult } from '../activities/apply-globals.js';
import { createActivities } from '../activities/index.js';
import type { ValidateRequest } from '../activities/validate-restore.js';
import { WORKFLOW_BUNDLE } from '../worker/workflows-path.js';
import { resolveBackup, unpinBackup } from '../activities/resolve-backup.js';
import { restoreIntoStaging } from '../activities/restore-archive.js';
import { openStore } from '../activities/store/open-stores.js';
import { databaseWorkflowId } from '../common/names.js';
import { stagingName } from '../common/restore-input.js';
import { shellWord } from '../common/shell-word.js';
import type { ClusterResult, ResolvedBackup, StagingRestore } from '../common/types.js';
import { applyRetention, backupCluster, listBackups, restoreDrill } from '../workflows/index.js';
import { uniqueName } from './helpers/config.js';
import { writeFakeGlobals } from './helpers/fake-backups.js';
import { adminClient, databaseExists, dropDatabase, seedDatabase, tableFingerprints } from './helpers/postgres.js';
import { flipByte, keysUnder, readObject, storeUnderTest, type StoreUnderTest } from './helpers/stores.js';
import { startDevServer, withWorker } from './helpers/temporal.js';
import { startS3Server, type S3Server } from './helpers/s3-server.js';
import { withSlowZstdDecompression } from './helpers/slow-zstd.js';
import { tempDir } from './helpers/temp-dirs.js';
import { rootFailure, runBackup, runRestore } from './helpers/workflows.js';

const ROOT = fileURLToPath(new URL('..', import.meta.url));

const escaped = (text: string) => text.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&');

describe('verified copies (a local primary, an S3 copy)', () => {
  let env: TestWorkflowEnvironment;
  let t: StoreUnderTest;
  let s3: S3Server;
  const source = uniqueName('pgk_copies');
  const made: string[] = [];
  /** bin/pgkeeper against this file's dev server and worker queue. */
  const cli = (...args: string[]) =>
    execa(`${ROOT}/bin/pgkeeper`, args, { reject: false, env: { TEMPORAL_ADDRESS: env.address, TASK_QUEUE: t.config.temporal.taskQueue } });

  before(async () => {
    s3 = await startS3Server();
    process.env.AWS_ACCESS_KEY_ID = s3.credentials.accessKeyId;
    process.env.AWS_SECRET_ACCESS_KEY = s3.credentials.secretAccessKey;
    t = await storeUnderTest('file', {
      BACKUP_COPIES: `s3://${s3.bucket}/offsite?endpoint=${s3.endpoint}`,
      AWS_ACCESS_KEY_ID: s3.credentials.accessKeyId,
      AWS_SECRET_ACCESS_KEY: s3.credentials.secretAccessKey,
    });
    env = await startDevServer();
    await seedDatabase(t.config, source);
  });
  after(async () => {
    for (const db of [source, ...made]) await dropDatabase(t.config, db);
    await env?.teardown();
    await t?.stop();
    await s3?.stop();
  });

  it('a backup lands in both stores, byte for byte, and the listing says where it exists', async () => {
    const copy = openStore(t.config.stores.copies[0]!);
    const result = await withWorker(env, t.config, () => runBackup(env, t.config, source));
    assert.deepEqual(result.stores, [
      { store: t.store.url, role: 'primary', status: 'stored' },
      { store: copy.url, role: 'copy', status: 'copied' },
    ]);
    assert.deepEqual(await keysUnder(copy, `${source}/`), await keysUnder(t.store, `${source}/`));
    for (const key of await keysUnder(t.store, `${source}/`)) assert.deepEqual(await readObject(copy, key), await readObject(t.store, key), key);

    const listing = await withWorker(env, t.config, () =>
      env.client.workflow.execute(listBackups, { args: [{ database: source }], taskQueue: t.config.temporal.taskQueue, workflowId: uniqueName('list') }),
    );
    assert.deepEqual(listing.stores, [t.store.url, copy.url]);
    // When the data was read, as the manifest records it (a retried dump reads later than its id says).
    const manifest = JSON.parse((await readObject(t.store, `${source}/${result.backupId}.manifest.json`)).toString()) as { startedAt: string };
    assert.equal(listing.backups[0]?.snapshotAt, manifest.startedAt);
    assert.deepEqual(listing.backups.map((b) => [b.id, b.status, b.locations.map((l) => `${l.store}:${l.status}`)]), [
      [result.backupId, 'complete', [`${t.store.url}:complete`, `${copy.url}:complete`]],
    ]);
  });

  it('the newest backup missing from a store that answers (removed by hand, a store added since): status says COPY MISSING (exit 3) until the next backup writes every store', async () => {
    const copy = openStore(t.config.stores.copies[0]!);
    await withWorker(env, t.config, async () => {
      const newest = await runBackup(env, t.config, source);
      for (const key of await keysUnder(copy, `${source}/${newest.backupId}.`)) await copy.delete(key);
      const missing = await cli('status', source);
      assert.equal(missing.exitCode, 3, missing.stdout + missing.stderr);
      assert.match(missing.stdout, new RegExp(`^${source}\\s.*\\sCOPY MISSING$`, 'm'));
      assert.match(missing.stdout, new RegExp(`^COPY MISSING ${newest.backupId}: not in ${escaped(copy.url)}; the next backup writes every store \\(\`pgkeeper backup ${source}\` now\\)$`, 'm'));
      await runBackup(env, t.config, source);
      const mended = await cli('status', source);
      assert.equal(mended.exitCode, 0, mended.stdout + mended.stderr);
    });
  });

  it('the backup the last completed run made is in no store, nor a newer one (a disk not mounted, files removed): status says BACKUP GONE (exit 3), of a database or of the globals', async () => {
    const copy = openStore(t.config.stores.copies[0]!);
    await withWorker(env, t.config, async () => {
      const newest = await runBackup(env, t.config, source);
      for (const store of [t.store, copy]) for (const key of await keysUnder(store, `${source}/${newest.backupId}.`)) await store.delete(key);
      const gone = await cli('status', source);
      assert.equal(gone.exitCode, 3, gone.stdout + gone.stderr);
      assert.match(gone.stdout, new RegExp(`^${source}\\s.*\\sBACKUP GONE$`, 'm'));
      assert.match(gone.stdout, new RegExp(`^BACKUP GONE ${newest.backupId}: made [-0-9: ]+ by \\S+, and no store holds it or a newer one \\(${escaped(t.store.url)}, ${escaped(copy.url)}\\): `, 'm'));
      const asJson = JSON.parse((await cli('status', source, '--json')).stdout) as { gone: { backupId: string } | null }[];
      assert.equal(asJson[0]!.gone?.backupId, newest.backupId);
      // Every store emptied of it: with no database named, it still shows (from its runs), not vanishes.
      for (const store of [t.store, copy]) for (const key of await keysUnder(store, `${source}/`)) await store.delete(key);
      const all = await cli('status');
      assert.equal(all.exitCode, 3, all.stdout + all.stderr);
      assert.match(all.stdout, new RegExp(`^${source}\\s.*\\sBACKUP GONE$`, 'm'));
      await runBackup(env, t.config, source);
      const mended = await cli('status', source);
      assert.equal(mended.exitCode, 0, mended.stdout + mended.stderr);

      // The same of the globals a whole-server backup made: the (globals) row says so, and how to make new ones.
      const cluster = await env.client.workflow.execute(backupCluster, { args: [{ include: [source] }], taskQueue: t.config.temporal.taskQueue, workflowId: uniqueName('cluster') });
      for (const store of [t.store, copy]) for (const key of await keysUnder(store, '.globals/')) await store.delete(key);
      const globalsGone = await cli('status');
      assert.equal(globalsGone.exitCode, 3, globalsGone.stdout + globalsGone.stderr);
      assert.match(globalsGone.stdout, /^\(globals\)\s.*\sBACKUP GONE$/m);
      assert.match(globalsGone.stdout, new RegExp(`^BACKUP GONE ${cluster.globals.id!}: made [-0-9: ]+ by \\S+, and no store holds it .*; \`pgkeeper backup --all\` makes a new one$`, 'm'));
      assert.doesNotMatch(globalsGone.stdout, new RegExp(`^${source}\\s.*\\sBACKUP GONE$`, 'm'));
    });
  });

  it('restore and drill read from the first intact store: a damaged primary falls back to the copy; a named store is used', async () => {
    const copy = openStore(t.config.stores.copies[0]!);
    await withWorker(env, t.config, async () => {
      const backup = await runBackup(env, t.config, source);
      // The primary's archive is lost; its copy is intact.
      await t.store.delete(backup.archiveKey);
      const into = uniqueName('pgk_from_copy');
      made.push(into);
      const restored = await runRestore(env, t.config, { backup: 'latest', database: source, target: into });
      assert.equal(restored.backup.store, copy.url);
      assert.deepEqual(await tableFingerprints(t.config, into), await tableFingerprints(t.config, source));

      const named = uniqueName('pgk_named');
      made.push(named);
      const fromCopy = await runRestore(env, t.config, { backup: backup.backupId, target: named, store: copy.url });
      assert.equal(fromCopy.backup.store, copy.url);

      const drill = await env.client.workflow.execute(restoreDrill, {
        args: [{ database: source, store: copy.url }],
        taskQueue: t.config.temporal.taskQueue,
        workflowId: uniqueName('drill'),
      });
      assert.equal(drill.store, copy.url);
      assert.equal(drill.proofRecorded, true);
      assert.ok((await keysUnder(copy, `${source}/`)).includes(`${source}/${backup.backupId}.drill.json`), 'the proof is next to the copy it proves');
    });
  });

  it('a copy still being written (its manifest not there yet) is the same backup, not "a newer archive"', async () => {
    const copy = openStore(t.config.stores.copies[0]!);
    await withWorker(env, t.config, async () => {
      const backup = await runBackup(env, t.config, source);
      // Its archive written again a second later (S3 dates objects to the second), its manifest not yet.
      await setTimeout(1100);
      await copy.put(backup.archiveKey, await readObject(copy, backup.archiveKey));
      await copy.delete(`${source}/${backup.backupId}.manifest.json`);
      const into = uniqueName('pgk_copying');
      made.push(into);
      const restored = await runRestore(env, t.config, { backup: 'latest', database: source, target: into });
      assert.equal(restored.backup.label, backup.backupId);
      assert.deepEqual(restored.warnings.filter((w) => /newer archive/.test(w)), []);
    });
  });

  it('bytes found damaged as a restore or drill reads them (one byte changed: manifest and size still check out) are read from the copy, and the damage is recorded where it was found', async () => {
    const copy = openStore(t.config.stores.copies[0]!);
    const locations = async (id: string) => {
      const listing = await env.client.workflow.execute(listBackups, { args: [{ database: source }], taskQueue: t.config.temporal.taskQueue, workflowId: uniqueName('list') });
      return listing.backups.find((b) => b.id === id)?.locations.map((l) => [l.store, l.status, l.reason ?? '']);
    };
    const cli = (...args: string[]) =>
      execa(`${ROOT}/bin/pgkeeper`, args, {
        reject: false,
        extendEnv: false,
        env: { PATH: process.env.PATH!, HOME: process.env.HOME!, TEMPORAL_ADDRESS: env.address, TASK_QUEUE: t.config.temporal.taskQueue },
      });
    const readBackDamaged = /^archive read back damaged on \d{4}-\d\d-\d\d \d\d:\d\d UTC by \S+: it reads back as \d+ bytes, sha256 [0-9a-f]{16}…; its manifest says \d+ bytes, [0-9a-f]{16}…$/;
    await withWorker(env, t.config, async () => {
      const backup = await runBackup(env, t.config, source);
      await flipByte(t.store, backup.archiveKey);
      const fellBack = new RegExp(`^${backup.backupId} was read from ${escaped(copy.url)}, its copy in ${escaped(t.store.url)} being damaged: `);
      const into = uniqueName('pgk_rotted');
      made.push(into);
      const restored = await runRestore(env, t.config, { backup: 'latest', database: source, target: into });
      assert.equal(restored.backup.store, copy.url);
      assert.equal(restored.warnings.filter((w) => fellBack.test(w)).length, 1, restored.warnings.join('\n'));
      assert.ok(restored.warnings.some((w) => w.startsWith(`${backup.backupId} is recorded as DAMAGED in ${t.store.url} `)), restored.warnings.join('\n'));
      assert.deepEqual(await tableFingerprints(t.config, into), await tableFingerprints(t.config, source));
      assert.deepEqual((await keysUnder(copy, `${source}/`)).filter((k) => k.includes('.pin.')), [], 'the copy was pinned only while it was read');

      // Recorded: listings and status say so (exit 3), and the next run goes to the copy at once.
      const [primarySeen, copySeen] = (await locations(backup.backupId))!;
      assert.deepEqual([primarySeen![0], primarySeen![1], copySeen], [t.store.url, 'damaged', [copy.url, 'complete', '']]);
      assert.match(primarySeen![2]!, readBackDamaged);
      const status = await cli('status', source);
      assert.equal(status.exitCode, 3, status.stderr);
      assert.match(status.stdout, new RegExp(`^DAMAGED ${backup.backupId}: archive read back damaged on `, 'm'));
      const drill = await env.client.workflow.execute(restoreDrill, { args: [{ database: source }], taskQueue: t.config.temporal.taskQueue, workflowId: uniqueName('drill') });
      assert.equal(drill.store, copy.url, 'the proof is of the copy that was read');
      assert.deepEqual(drill.warnings.filter((w) => fellBack.test(w)), [], 'the damaged primary was not read again');
      assert.ok(drill.warnings.some((w) => w.startsWith(`${backup.backupId} is DAMAGED in ${t.store.url} (archive read back damaged on `)), drill.warnings.join('\n'));
      const drilled = await cli('drill', source, '--wait');
      assert.equal(drilled.exitCode, 0, drilled.stderr);
      assert.match(drilled.stdout, new RegExp(`^  warning    ${backup.backupId} is DAMAGED in ${escaped(t.store.url)} \\(archive read back damaged on `, 'm'), 'drill --wait says so');
      assert.ok((await keysUnder(copy, `${source}/`)).includes(`${source}/${backup.backupId}.drill.json`));

      // The archive written again (here by hand, from the copy): the record no longer holds.
      await t.store.put(backup.archiveKey, await readObject(copy, backup.archiveKey));
      assert.deepEqual((await locations(backup.backupId))!.map(([, status]) => status), ['complete', 'complete']);

      // Mended with its modification time kept as it was (cp -p from a copy with the same time): the
      // record still holds; a restore naming that store reads it again, and the verified read clears it.
      const recordKey = `${source}/${backup.backupId}.damaged.json`;
      const [listed] = (await t.store.list(backup.archiveKey)).filter((o) => o.key === backup.archiveKey);
      const stale = JSON.parse((await t.store.getText(recordKey))!) as Record<string, unknown>;
      await t.store.put(recordKey, JSON.stringify({ ...stale, archiveVersion: `${listed!.sizeBytes}:${listed!.modifiedMs}` }));
      assert.deepEqual((await locations(backup.backupId))!.map(([, status]) => status), ['damaged', 'complete']);
      const rechecked = uniqueName('pgk_rechecked');
      made.push(rechecked);
      const reread = await runRestore(env, t.config, { backup: backup.backupId, target: rechecked, store: t.store.url });
      assert.equal(reread.backup.store, t.store.url);
      assert.ok(reread.warnings.some((w) => w.startsWith(`${backup.backupId} is recorded as DAMAGED in ${t.store.url} (`)), reread.warnings.join('\n'));
      assert.equal(await t.store.stat(recordKey), undefined, 'the verified read cleared the record');
      assert.deepEqual((await locations(backup.backupId))!.map(([, status]) => status), ['complete', 'complete']);

      // A damaged copy, found by a restore that names its store: recorded there, the intact store
      // named in the refusal, and the copy made again by the next copy run.
      await flipByte(copy, backup.archiveKey);
      const named = await runRestore(env, t.config, { backup: backup.backupId, target: uniqueName('pgk_rotted_copy'), store: copy.url }).catch((err: unknown) => err);
      assert.ok(named instanceof WorkflowFailedError, String(named));
      assert.match(rootFailure(named).type ?? '', /^(CorruptArchive|ChecksumMismatch)$/);
      assert.ok(rootFailure(named).message.endsWith(`; it is intact in ${t.store.url}: restore it from there (--store ${shellWord(t.store.url)})`), rootFailure(named).message);
      assert.deepEqual((await locations(backup.backupId))!.map(([, status]) => status), ['complete', 'damaged']);
      const next = await runBackup(env, t.config, source);
      assert.deepEqual((await locations(backup.backupId))!.map(([, status]) => status), ['complete', 'complete']);
      assert.ok(!(await keysUnder(copy, `${source}/`)).includes(`${source}/${backup.backupId}.damaged.json`), 'the record went with the damage');
      assert.deepEqual(await readObject(copy, backup.archiveKey), await readObject(t.store, backup.archiveKey));

      // Both damaged, the copy rotting on the S3 server's disk (the checksum the server stored with
      // it no longer matches): refused, the primary's damage first, the copy's after it; both recorded.
      await flipByte(t.store, next.archiveKey);
      const onDisk = path.join(s3.dir, s3.bucket, 'offsite', next.archiveKey);
      const rotted = readFileSync(onDisk);
      rotted[rotted.length >> 1]! ^= 0xff;
      writeFileSync(onDisk, rotted);
      const refused = await runRestore(env, t.config, { backup: next.backupId, target: uniqueName('pgk_rotted_both') }).catch((err: unknown) => err);
      assert.ok(refused instanceof WorkflowFailedError, String(refused));
      assert.match(rootFailure(refused).type ?? '', /^(CorruptArchive|ChecksumMismatch)$/);
      assert.match(
        rootFailure(refused).message,
        new RegExp(`^${next.backupId} in ${escaped(t.store.url)}(:| does not match) .* \\(its copies are damaged too: reading ${escaped(next.archiveKey)} in ${escaped(copy.url)}: the bytes \\S+ returned do not match the checksum stored with the object \\(x-amz-checksum-crc32 `),
      );
      const [primaryRot, copyRot] = (await locations(next.backupId))!;
      assert.deepEqual([primaryRot![1], copyRot![1]], ['damaged', 'damaged']);
      assert.match(copyRot![2]!, readBackDamaged, 'judged by the manifest, not by the server\'s checksum alone');
    });
  });

  it('a copy run that finds an older backup damaged in the primary records it there and copies the rest: later runs neither fail on it nor blame the copy', async () => {
    const copy = openStore(t.config.stores.copies[0]!);
    await withWorker(env, t.config, async () => {
      const older = await runBackup(env, t.config, source);
      // Its primary archive rots, and the copy store never had it (a copy store added since, say).
      await flipByte(t.store, older.archiveKey);
      for (const key of await keysUnder(copy, `${source}/${older.backupId}.`)) await copy.delete(key);
      const next = await runBackup(env, t.config, source);
      const [, copied] = next.stores;
      assert.equal(copied!.status, 'copied');
      assert.deepEqual(copied!.skipped?.map((k) => k.id), [older.backupId]);
      assert.match(copied!.skipped![0]!.reason, new RegExp(`^its archive in ${t.store.url.replace(/[/.]/g, '\\$&')} is DAMAGED \\(it reads back as \\d+ bytes, sha256 [0-9a-f]{16}…; its manifest says `));
      assert.deepEqual(await keysUnder(copy, `${source}/${older.backupId}.`), [], 'nothing of it in the copy');
      assert.ok(await t.store.stat(`${source}/${older.backupId}.damaged.json`), 'recorded in the primary');
      assert.ok((await keysUnder(copy, `${source}/`)).includes(`${source}/${next.backupId}.manifest.json`), 'the new backup is copied');
      const after = await runBackup(env, t.config, source);
      assert.deepEqual(after.stores.map((s) => [s.status, s.skipped]), [['stored', undefined], ['copied', undefined]], 'not tried again');

      // The same found by a whole-server backup: its result says so per database.
      await flipByte(t.store, after.archiveKey);
      for (const key of await keysUnder(copy, `${source}/${after.backupId}.`)) await copy.delete(key);
      const cluster = await env.client.workflow.execute(backupCluster, { args: [{ include: [source] }], taskQueue: t.config.temporal.taskQueue, workflowId: uniqueName('cluster') });
      assert.equal(cluster.databases[0]!.status, 'completed');
      assert.deepEqual(cluster.databases[0]!.notCopied?.map((k) => [k.id, k.store]), [[after.backupId, copy.url]]);
    });
  });

  it('a copy store added since a backup rotted in the primary gets it from the copy that holds it intact: the damage found by the copy itself, or recorded before', async () => {
    const spec = (dir: string) => ({ kind: 'file' as const, url: pathToFileURL(dir).href, path: dir, variable: 'BACKUP_COPIES' });
    const withCopy = (dir: string) => ({ ...t.config, stores: { primary: t.config.stores.primary, copies: [t.config.stores.copies[0]!, spec(dir)] } });
    const older = await withWorker(env, t.config, () => runBackup(env, t.config, source)); // in the primary and the S3 copy
    await flipByte(t.store, older.archiveKey);
    for (const recordedBefore of [false, true]) {
      const added = path.join(tempDir('added-copy'), 'backups');
      mkdirSync(added);
      const config = withCopy(added);
      const next = await withWorker(env, config, () => runBackup(env, config, source));
      assert.deepEqual(next.stores.map((s) => [s.status, s.skipped]), [['stored', undefined], ['copied', undefined], ['copied', undefined]], 'nothing left out');
      assert.ok(await openStore(spec(added)).stat(`${source}/${older.backupId}.manifest.json`), `${older.backupId} copied to the store added${recordedBefore ? ', its damage recorded before' : ''}`);
      assert.equal(await openStore(spec(added)).stat(`${source}/${older.backupId}.damaged.json`), undefined, 'a whole copy there');
      assert.ok(await t.store.stat(`${source}/${older.backupId}.damaged.json`), 'the damage recorded in the primary');
    }
  });

  it('an S3 server holding a wrong checksum for intact bytes: nothing is recorded, and the refusal says how to have it computed afresh', async () => {
    const copy = openStore(t.config.stores.copies[0]!);
    const backup = await withWorker(env, t.config, () => runBackup(env, t.config, source));
    // versitygw keeps an object's checksums in an extended attribute of its file.
    const onDisk = path.join(s3.dir, s3.bucket, 'offsite', backup.archiveKey);
    const wrongChecksum = "import json, os, sys; p = sys.argv[1]; d = json.loads(os.getxattr(p, 'user.checksums')); d['CRC32'] = 'AAAAAA=='; os.setxattr(p, 'user.checksums', json.dumps(d).encode())";
    execFileSync('python3', ['-c', wrongChecksum, onDisk]);
    const refused = await withWorker(env, t.config, () => runRestore(env, t.config, { backup: backup.backupId, target: uniqueName('pgk_wrong_crc'), store: copy.url })).catch((err: unknown) => err);
    assert.ok(refused instanceof WorkflowFailedError, String(refused));
    assert.equal(rootFailure(refused).type, 'StoreFailed', rootFailure(refused).message);
    assert.match(rootFailure(refused).message, /; yet its bytes, read again, match its manifest: the server holds a wrong checksum for intact bytes\. Copy the object onto itself .*--checksum-algorithm CRC32\), or restore from another store$/);
    assert.equal(await copy.stat(`${source}/${backup.backupId}.damaged.json`), undefined, 'intact bytes are not recorded as damaged');
  });

  it('a store that cannot hand the archive over once resolved (gone, down) is passed over for the copy; a restore with no copy to read fails as before', async () => {
    const copy = openStore(t.config.stores.copies[0]!);
    const backup = await withWorker(env, t.config, () => runBackup(env, t.config, source));
    const resolved = (await new MockActivityEnvironment().run(resolveBackup, t.config, { backup: backup.backupId, database: source })) as ResolvedBackup;
    assert.deepEqual([resolved.store, resolved.copies], [t.store.url, [copy.url]]);
    await t.store.delete(backup.archiveKey); // after the backup was resolved: as a store gone away would
    const staging = stagingName(uniqueName('pgk_unreadable'), randomUUID());
    made.push(staging);
    const restore = (backup: ResolvedBackup) =>
      new MockActivityEnvironment().run(restoreIntoStaging, t.config, { backup, staging, jobs: 1, noOwner: false, noPrivileges: false }) as Promise<StagingRestore>;
    const restored = await restore(resolved);
    assert.equal(restored.store, copy.url);
    assert.ok(restored.warnings.some((w) => w.startsWith(`${backup.backupId} was read from ${copy.url}, its copy in ${t.store.url} not being readable: `)), restored.warnings.join('\n'));
    assert.deepEqual(await tableFingerprints(t.config, staging), await tableFingerprints(t.config, source));
    assert.equal(await t.store.stat(`${source}/${backup.backupId}.damaged.json`), undefined, 'a missing archive is no damage to record');

    // Named now, that store's backup is DAMAGED (its archive missing): refused, naming the store that has it.
    await assert.rejects(
      new MockActivityEnvironment().run(resolveBackup, t.config, { backup: backup.backupId, store: t.store.url, target: staging }),
      (err: ApplicationFailure) =>
        err.type === 'BackupDamaged' &&
        err.message.endsWith(`; it is intact in ${copy.url}: restore it from there with \`pgkeeper restore ${backup.backupId} --target ${staging} --store ${shellWord(copy.url)} --queue ${shellWord(t.config.temporal.taskQueue)}\``),
    );
    const { copies: _, ...primaryOnly } = resolved;
    await assert.rejects(restore(primaryOnly), (err: ApplicationFailure) => err.type === 'BackupNotFound' && err.message.startsWith(`${backup.archiveKey} does not exist in ${t.store.url}`));
  });

  it('while a restore reads the primary its copies are pinned too, so a prune of a copy store cannot take the copy it may fall back on', async () => {
    const copy = openStore(t.config.stores.copies[0]!);
    const backup = await withWorker(env, t.config, () => runBackup(env, t.config, source));
    const pin = `run-${randomUUID()}`;
    const resolved = (await new MockActivityEnvironment().run(resolveBackup, t.config, { backup: backup.backupId, database: source, pin })) as ResolvedBackup;
    const pinsInCopy = () => keysUnder(copy, `${source}/${backup.backupId}.pin.`);
    const seen: Promise<string[]>[] = [];
    const activity = new MockActivityEnvironment();
    activity.on('heartbeat', () => seen.push(pinsInCopy()));
    const staging = stagingName(uniqueName('pgk_pinned'), randomUUID());
    made.push(staging);
    try {
      // The read of the primary outlasts a heartbeat.
      const restored = (await withSlowZstdDecompression(() => activity.run(restoreIntoStaging, t.config, { backup: resolved, staging, jobs: 1, noOwner: false, noPrivileges: false }))) as StagingRestore;
      assert.equal(restored.store, t.store.url);
    } finally {
      await new MockActivityEnvironment().run(unpinBackup, t.config, { store: resolved.store, pinKey: resolved.pinKey! });
    }
    assert.ok((await Promise.all(seen)).some((keys) => keys.includes(resolved.pinKey!)), 'the copy was pinned during the read');
    assert.deepEqual(await pinsInCopy(), [], 'and unpinned after it');
  });

  it('backup --all with a copy store down: the globals are copied to the stores that answer all the same, and the failure says they are stored', async () => {
    const [down, second] = [path.join(tempDir('unmounted'), 'backups'), tempDir('second-copy')];
    const spec = (dir: string) => ({ kind: 'file' as const, url: pathToFileURL(dir).href, path: dir, variable: 'BACKUP_COPIES' });
    const config = { ...t.config, stores: { primary: t.config.stores.primary, copies: [spec(down), spec(second)] } };
    const err = await withWorker(env, config, () =>
      env.client.workflow.execute(backupCluster, { args: [{ include: [source] }], taskQueue: t.config.temporal.taskQueue, workflowId: uniqueName('cluster') }).catch((e: unknown) => e),
    );
    const { globals } = ((rootFailure(err) as Error & { details?: unknown[] }).details as ClusterResult[])[0]!;
    assert.equal(globals.status, 'failed');
    assert.match(globals.reason!, new RegExp(`^globals backup ${globals.id} is stored in ${escaped(t.store.url)}, but its copy to ${escaped(spec(down).url)} failed: .+\\. Retention did not run; the next backup makes the missing copy$`));
    assert.ok(await openStore(spec(second)).stat(`.globals/${globals.id}.manifest.json`), 'copied to the store that answered');
  });

  it('a globals backup damaged in the primary is read from its copy when a restore applies it, and recorded', async () => {
    const copy = openStore(t.config.stores.copies[0]!);
    const cluster = await withWorker(env, t.config, () =>
      env.client.workflow.execute(backupCluster, { args: [{ include: [source] }], taskQueue: t.config.temporal.taskQueue, workflowId: uniqueName('cluster') }),
    );
    const id = cluster.globals.id!;
    const [archiveKey] = (await keysUnder(t.store, `.globals/${id}.sql`)).filter((k) => !k.endsWith('.sha256'));
    assert.ok((await keysUnder(copy, '.globals/')).includes(archiveKey!), 'copied');
    await flipByte(t.store, archiveKey!);
    const applied = (await new MockActivityEnvironment().run(applyGlobals, t.config, { globals: id })) as ApplyGlobalsResult;
    assert.equal(applied.id, id);
    assert.ok(applied.warnings.some((w) => w.startsWith(`globals: globals backup ${id} was read from ${copy.url}, its copy in ${t.store.url} being damaged: `)), applied.warnings.join('\n'));
    assert.ok(await t.store.stat(`.globals/${id}.damaged.json`), 'recorded in the primary');
  });

  it('an archive read from the copy (damaged in the primary): the restore validates with the manifest of the store it read, not of one that may have stopped answering since', async () => {
    const copy = openStore(t.config.stores.copies[0]!);
    const backup = await withWorker(env, t.config, () => runBackup(env, t.config, source));
    await flipByte(t.store, backup.archiveKey);
    const real = createActivities(t.config);
    const asked: ValidateRequest[] = [];
    const worker = await Worker.create({
      connection: env.nativeConnection,
      namespace: t.config.temporal.namespace,
      taskQueue: t.config.temporal.taskQueue,
      workflowBundle: { codePath: WORKFLOW_BUNDLE },
      activities: { ...real, validateStaging: (req: ValidateRequest) => (asked.push(req), real.validateStaging(req)) },
    });
    const into = uniqueName('pgk_validate_copy');
    made.push(into);
    const restored = await worker.runUntil(() => runRestore(env, t.config, { backup: backup.backupId, target: into }));
    assert.equal(restored.backup.store, copy.url);
    assert.deepEqual(asked.map((r) => r.manifest?.store), [copy.url]);
  });

  it('"latest" of a name no store holds, when they hold others: the nearest is suggested, and the names listed (not a folder of files pgkeeper did not write)', async () => {
    await withWorker(env, t.config, () => runBackup(env, t.config, source));
    const legacy = path.join(fileURLToPath(t.store.url), 'legacy');
    mkdirSync(legacy, { recursive: true });
    writeFileSync(path.join(legacy, `${source}_20261101_020000.dump`), 'PGDMP');
    const typo = `${source.slice(0, -1)}_`;
    try {
      await assert.rejects(new MockActivityEnvironment().run(resolveBackup, t.config, { backup: 'latest', database: typo }), (err: ApplicationFailure) => {
        assert.equal(err.type, 'BackupNotFound');
        assert.match(err.message, new RegExp(`^no backup of "${typo}" in ${t.store.url}, \\S+; did you mean "${source}"\\? \\(backups there are of .*"${source}".*\\); if the name is right, run \`pgkeeper backup ${typo}\` first$`));
        assert.doesNotMatch(err.message, /"legacy"/);
        return true;
      });
    } finally {
      rmSync(legacy, { recursive: true, force: true });
    }
  });

  it('the primary not answering: "latest" is refused (the copies may lack the newest), naming the newest the copy holds; by its id, that one restores from the copy', async () => {
    const copy = openStore(t.config.stores.copies[0]!);
    const primaryDir = fileURLToPath(t.store.url);
    await withWorker(env, t.config, async () => {
      const backup = await runBackup(env, t.config, source);
      renameSync(primaryDir, `${primaryDir}.unmounted`); // a disk not mounted
      try {
        const into = uniqueName('pgk_primary_down');
        const err = await runRestore(env, t.config, { backup: 'latest', database: source, target: into }).catch((e: unknown) => e);
        assert.ok(err instanceof WorkflowFailedError, String(err));
        assert.equal(rootFailure(err).type, 'StoreUnavailable');
        assert.match(
          rootFailure(err).message,
          new RegExp(`^the primary store ${t.store.url} could not be read \\(.*\\), so which backup of "${source}" is the latest is not known; the newest the other stores hold is ${backup.backupId} in ${copy.url.replace(/[/.?]/g, '\\$&')}: restore it by its id if it will do \\(\`pgkeeper restore ${backup.backupId} --target ${into}( --queue \\S+)?\`\\)`),
        );
        assert.equal(await databaseExists(t.config, into), false, 'nothing created');
        made.push(into);
        const restored = await runRestore(env, t.config, { backup: backup.backupId, target: into });
        assert.equal(restored.backup.store, copy.url);
        assert.deepEqual(await tableFingerprints(t.config, into), await tableFingerprints(t.config, source));
      } finally {
        renameSync(`${primaryDir}.unmounted`, primaryDir);
      }
    });
  });

  it('a copy store that does not answer never stops a restore from the primary; listings say it is down', async () => {
    const copy = openStore(t.config.stores.copies[0]!);
    await withWorker(env, t.config, async () => {
      const backup = await runBackup(env, t.config, source);
      await s3.kill();
      try {
        const into = uniqueName('pgk_copy_down');
        made.push(into);
        const restored = await runRestore(env, t.config, { backup: 'latest', database: source, target: into });
        assert.equal(restored.backup.label, backup.backupId);
        assert.equal(restored.backup.store, t.store.url);
        assert.match(restored.warnings.join('\n'), new RegExp(`store ${copy.url.replace(/[/.]/g, '\\$&')} could not be read`));
        const listing = await env.client.workflow.execute(listBackups, { args: [{ database: source }], taskQueue: t.config.temporal.taskQueue, workflowId: uniqueName('list') });
        assert.deepEqual(listing.unreachable.map((u) => u.store), [copy.url]);
        assert.ok(listing.backups.some((b) => b.id === backup.backupId && b.status === 'complete'));
        // `pgkeeper backups` lists what answered and exits 3: the list may be missing backups.
        const listed = await execa(`${ROOT}/bin/pgkeeper`, ['backups', source], {
          reject: false,
          extendEnv: false,
          env: { PATH: process.env.PATH!, HOME: process.env.HOME!, TEMPORAL_ADDRESS: env.address, TASK_QUEUE: t.config.temporal.taskQueue },
        });
        assert.equal(listed.exitCode, 3, listed.stderr);
        assert.match(listed.stdout, new RegExp(`^${backup.backupId}\\s+${source}\\s+ok\\s`, 'm'));
        assert.match(listed.stderr, new RegExp(`^store ${copy.url.replace(/[/.?]/g, '\\$&')} could not be read \\(its copies are not listed\\): `));
        // status --json says so in each record, not only by its exit code and on stderr.
        const status = await execa(`${ROOT}/bin/pgkeeper`, ['status', source, '--json'], {
          reject: false,
          extendEnv: false,
          env: { PATH: process.env.PATH!, HOME: process.env.HOME!, TEMPORAL_ADDRESS: env.address, TASK_QUEUE: t.config.temporal.taskQueue },
        });
        assert.equal(status.exitCode, 3, status.stderr);
        const [record] = JSON.parse(status.stdout) as { database: string; lastSuccessfulBackup: { backupId: string }; unreachable: { store: string }[] }[];
        assert.deepEqual([record?.database, record?.lastSuccessfulBackup.backupId, record?.unreachable.map((u) => u.store)], [source, backup.backupId, [copy.url]]);
        // A worker whose only store is down fails the listing, naming the store, rather than list nothing.
        await assert.rejects(
          listEveryBackup({ ...t.config, stores: { primary: t.config.stores.copies[0]!, copies: [] } }, {}),
          (err: Error) => err.message.startsWith(`no store answered, so what they hold is unknown: ${copy.url} (`),
        );
        // And `pgkeeper backups` exits 3 for it, as for one store down: a monitor watches for 3.
        const onlyDown = { ...t.config, stores: { primary: t.config.stores.copies[0]!, copies: [] }, temporal: { ...t.config.temporal, taskQueue: uniqueName('only-down') } };
        const none = await withWorker(env, onlyDown, () =>
          execa(`${ROOT}/bin/pgkeeper`, ['backups'], { reject: false, extendEnv: false, env: { PATH: process.env.PATH!, HOME: process.env.HOME!, TEMPORAL_ADDRESS: env.address, TASK_QUEUE: onlyDown.temporal.taskQueue } }),
        );
        assert.equal(none.exitCode, 3, none.stderr);
        assert.match(none.stderr, /^pgkeeper: .*no store answered/);

        // prune names the store that does not answer at once (it is not retried for minutes under the
        // database's lock): a dry run plans the others; a real one runs on them, then fails naming it.
        const pruneId = uniqueName('prune');
        const prune = (dryRun: boolean) =>
          env.client.workflow.execute(applyRetention, { args: [{ database: source, dryRun }], taskQueue: t.config.temporal.taskQueue, workflowId: `${pruneId}-${dryRun}` });
        const plan = await prune(true);
        assert.ok(plan.status === 'completed');
        assert.deepEqual([plan.stores.map((s) => s.store), plan.unreachable?.map((u) => u.store)], [[t.store.url], [copy.url]]);
        const failed = await prune(false).catch((err: unknown) => err);
        assert.ok(failed instanceof WorkflowFailedError, String(failed));
        assert.equal(rootFailure(failed).type, 'StoreUnavailable');
        assert.match(rootFailure(failed).message, new RegExp(`\\. Retention did not run on ${copy.url.replace(/[/.?]/g, '\\$&')}; it ran on ${t.store.url.replace(/[/.]/g, '\\$&')} \\(deleted 0\\): run prune again once it can be read$`));
        // The run under the database's lock, which did the work, is that id's latest.
        const { events } = await env.client.workflow.getHandle(databaseWorkflowId(t.config.temporal.taskQueue, source)).fetchHistory();
        assert.deepEqual((events ?? []).flatMap((e) => (e.activityTaskStartedEventAttributes ? [e.activityTaskStartedEventAttributes.attempt] : [])), [1], 'not retried');
      } finally {
        await s3.restart();
      }
    });
  });

  it('a copy store whose bucket is gone (a store that cannot be read, as one refusing the credentials) is passed over like one that does not answer: restores and globals read the primary; backups and prune name it', async () => {
    const copy = openStore(t.config.stores.copies[0]!);
    const bucketDir = path.join(s3.dir, s3.bucket);
    const cli = (...args: string[]) =>
      execa(`${ROOT}/bin/pgkeeper`, args, { reject: false, extendEnv: false, env: { PATH: process.env.PATH!, HOME: process.env.HOME!, TEMPORAL_ADDRESS: env.address, TASK_QUEUE: t.config.temporal.taskQueue } });
    await withWorker(env, t.config, async () => {
      const backup = await runBackup(env, t.config, source);
      const globals = await writeFakeGlobals(t.store, 0); // the primary's alone, and the newest
      renameSync(bucketDir, `${bucketDir}.gone`);
      const unread = new RegExp(`store ${copy.url.replace(/[/.?]/g, '\\$&')} could not be read(, so its (globals backups|copies) were not considered)?:? .*bucket "${s3.bucket}" does not exist`);
      try {
        const into = uniqueName('pgk_bucket_gone');
        made.push(into);
        const restored = await runRestore(env, t.config, { backup: 'latest', database: source, target: into });
        assert.equal(restored.backup.label, backup.backupId);
        assert.match(restored.warnings.join('\n'), unread);
        const applied = (await new MockActivityEnvironment().run(applyGlobals, t.config, { globals: 'latest' })) as ApplyGlobalsResult;
        assert.equal(applied.id, globals);
        assert.ok(applied.warnings.some((w) => w.startsWith('globals: ') && unread.test(w)), applied.warnings.join('\n'));
        // The primary that cannot be read: "latest" is not known (the copies may lack the newest), as for a database.
        const primaryGone = { ...t.config, stores: { primary: t.config.stores.copies[0]!, copies: [t.config.stores.primary] } };
        await assert.rejects(new MockActivityEnvironment().run(applyGlobals, primaryGone, { globals: 'latest' }), (err: ApplicationFailure) => {
          assert.equal(err.type, 'StoreUnavailable');
          assert.match(err.message, new RegExp(`^the primary store ${copy.url.replace(/[/.?]/g, '\\$&')} could not be read \\(.*\\), so which globals backup is the latest is not known; the newest the other stores hold is ${globals}: give it \\(--globals ${globals}\\) if it will do`));
          return true;
        });

        const listed = await cli('backups', source);
        assert.equal(listed.exitCode, 3, listed.stderr);
        assert.match(listed.stdout, new RegExp(`^${backup.backupId}\\s+${source}\\s+ok\\s`, 'm'));
        assert.match(listed.stderr, /\(its copies are not listed\): /);
        assert.match(listed.stderr, unread);

        const pruned = await cli('prune', source, '--retention', 'keepLast=1000');
        assert.notEqual(pruned.exitCode, 0);
        assert.match(pruned.stderr, new RegExp(`Retention did not run on ${copy.url.replace(/[/.?]/g, '\\$&')}; it ran on ${t.store.url.replace(/[/.]/g, '\\$&')} \\(deleted 0\\): run prune again once it can be read`));
      } finally {
        renameSync(`${bucketDir}.gone`, bucketDir);
        for (const key of await keysUnder(t.store, `.globals/${globals}.`)) await t.store.delete(key);
        const admin = adminClient(t.config, 'postgres');
        await admin.connect();
        await admin.query(`drop role if exists fake_0`).finally(() => admin.end());
      }
    });
  });
});
