/**
 * `pgkeeper verify`: every stored archive, in every store (a local primary, an S3 copy), read back
 * and held against its manifest. Damage nobody has read yet (here a byte changed in the copy) is
 * found, named and recorded, so `status` reports it; a record on an archive that reads back whole
 * again is removed; a store that does not answer is said, and all of these exit 3.
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdirSync } from 'node:fs';
import { createHash } from 'node:crypto';
import { rename, rm, truncate, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { after, before, describe, it } from 'node:test';
import { WorkflowFailedError } from '@temporalio/client';
import { MockActivityEnvironment, type TestWorkflowEnvironment } from '@temporalio/testing';
import { execa } from 'execa';
import { openStore } from '../activities/store/open-stores.js';
import { verifyLines } from '../client/commands/verify.js';
import { backupKeys, damageKey, sidecarKey } from '../common/backup-keys.js';
import { verifyArchives } from '../activities/verify-archives.js';
import type { VerifyResult } from '../common/types.js';
import { listBackups, verifyBackups } from '../workflows/index.js';
import { backupDir, testConfig, uniqueName } from './helpers/config.js';
import { writeFakeBackup, writeFakeGlobals } from './helpers/fake-backups.js';
import { dropDatabase, seedDatabase } from './helpers/postgres.js';
import { startS3Server, type S3Server } from './helpers/s3-server.js';
import { flipByte, keysUnder, readObject, storeUnderTest, type StoreUnderTest } from './helpers/stores.js';
import { tempDir } from './helpers/temp-dirs.js';
import { startDevServer, withWorker } from './helpers/temporal.js';
import { rootFailure, runBackup } from './helpers/workflows.js';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const escaped = (text: string) => text.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&');

describe('pgkeeper verify', () => {
  let env: TestWorkflowEnvironment;
  let t: StoreUnderTest;
  let s3: S3Server;
  const source = uniqueName('pgk_verify');

  before(async () => {
    s3 = await startS3Server();
    t = await storeUnderTest('file', {
      BACKUP_COPIES: `s3://${s3.bucket}/offsite?endpoint=${s3.endpoint}`,
      AWS_ACCESS_KEY_ID: s3.credentials.accessKeyId,
      AWS_SECRET_ACCESS_KEY: s3.credentials.secretAccessKey,
    });
    process.env.AWS_ACCESS_KEY_ID = s3.credentials.accessKeyId;
    process.env.AWS_SECRET_ACCESS_KEY = s3.credentials.secretAccessKey;
    env = await startDevServer();
    await seedDatabase(t.config, source);
  });
  after(async () => {
    await dropDatabase(t.config, source);
    await env?.teardown();
    await t?.stop();
    await s3?.stop();
  });

  const cli = (...args: string[]) =>
    execa(`${ROOT}/bin/pgkeeper`, args, {
      reject: false,
      extendEnv: false,
      env: { PATH: process.env.PATH!, HOME: process.env.HOME!, TEMPORAL_ADDRESS: env.address, TASK_QUEUE: t.config.temporal.taskQueue },
    });

  it('reads every archive in every store back: intact ones pass, a changed byte is found, recorded and reported, a mended one cleared, a store down said; exit 3 for each', async () => {
    const copy = openStore(t.config.stores.copies[0]!);
    await withWorker(env, t.config, async () => {
      const older = await runBackup(env, t.config, source);
      const newer = await runBackup(env, t.config, source);

      const clean = await cli('verify', source, '--wait');
      assert.equal(clean.exitCode, 0, clean.stderr);
      assert.match(clean.stdout, /^verified 4 archives in 2 stores: 4 intact \(.* read in .*\)$/m);

      // Rot nobody has read yet: the older backup's copy.
      await flipByte(copy, older.archiveKey);
      const found = await cli('verify', '--wait');
      assert.equal(found.exitCode, 3, found.stderr);
      assert.match(found.stdout, /^verified 4 archives in 2 stores: 3 intact, 1 DAMAGED /m);
      assert.match(
        found.stdout,
        new RegExp(`^  DAMAGED     ${older.backupId} in ${escaped(copy.url)}: it reads back as \\d+ bytes, sha256 [0-9a-f]{16}…; its manifest says \\d+ bytes, [0-9a-f]{16}…$`, 'm'),
      );
      assert.match(found.stdout, new RegExp(`^  warning     ${older.backupId} is recorded as DAMAGED in ${escaped(copy.url)} `, 'm'));
      // For monitoring: the whole result as JSON on stdout (it waits); on stderr (a cron job's
      // mail) the report when something needs attention, a failure naming the run, or nothing.
      const asJson = await cli('verify', source, '--json');
      assert.equal(asJson.exitCode, 3, asJson.stderr);
      const result = JSON.parse(asJson.stdout) as VerifyResult;
      assert.deepEqual([result.intact, result.damaged, result.problems.map((p) => [p.id, p.store, p.verdict])], [3, 1, [[older.backupId, copy.url, 'damaged']]]);
      assert.match(asJson.stderr, /^verified 4 archives in 2 stores: 3 intact, 1 DAMAGED /);
      assert.match(asJson.stderr, new RegExp(`^  DAMAGED     ${older.backupId} in `, 'm'));
      const cleanJson = await cli('verify', source, '--store', t.store.url, '--json');
      assert.deepEqual([cleanJson.exitCode, cleanJson.stderr, (JSON.parse(cleanJson.stdout) as VerifyResult).intact], [0, '', 2]);
      const unknownJson = await cli('verify', source, '--json', '--store', 's3://elsewhere/pg');
      assert.deepEqual([unknownJson.exitCode, unknownJson.stdout], [1, '']);
      assert.match(unknownJson.stderr, /^pgkeeper: verify FAILED \(workflow pgkeeper-verify:\S+\): store "s3:\/\/elsewhere\/pg" is not one of this worker's stores/);
      // The run itself failed (so it notifies, and history shows it), its first line the damage.
      const failed = await env.client.workflow
        .execute(verifyBackups, { args: [{ database: source }], taskQueue: t.config.temporal.taskQueue, workflowId: uniqueName('verify') })
        .catch((e: unknown) => e);
      assert.ok(failed instanceof WorkflowFailedError, String(failed));
      assert.equal(rootFailure(failed).type, 'BackupDamaged');
      assert.equal(
        rootFailure(failed).message,
        `verify found 1 DAMAGED among 4 archives: ${older.backupId} DAMAGED in ${copy.url}. \`pgkeeper verify --wait\` says why for each; \`pgkeeper backups\` shows where each backup is intact`,
      );
      const history = await cli('history', source);
      assert.match(history.stdout, /\bverify\b.*\bfailed\b/, history.stdout);
      const recordKey = `${source}/${older.backupId}.damaged.json`;
      assert.ok(await copy.stat(recordKey), 'the damage is recorded where it was found');
      const listing = await env.client.workflow.execute(listBackups, { args: [{ database: source }], taskQueue: t.config.temporal.taskQueue, workflowId: uniqueName('list') });
      assert.deepEqual(
        listing.backups.map((b) => [b.id, b.locations.map((l) => l.status)]),
        [
          [newer.backupId, ['complete', 'complete']],
          [older.backupId, ['complete', 'damaged']],
        ],
      );
      const status = await cli('status', source);
      assert.equal(status.exitCode, 3, status.stderr);

      // Only the primary: nothing wrong there.
      const primaryOnly = await cli('verify', source, '--store', `${fileURLToPath(t.store.url)}/`, '--wait'); // as BACKUP_DIR spells it
      assert.equal(primaryOnly.exitCode, 0, primaryOnly.stderr);
      assert.match(primaryOnly.stdout, /^verified 2 archives in 1 store: 2 intact /m);

      // Mended by hand with the damaged archive's size and time kept (the record still holds): the
      // read finds it whole and removes the record.
      await copy.put(older.archiveKey, await readObject(t.store, older.archiveKey));
      const [listed] = (await copy.list(older.archiveKey)).filter((o) => o.key === older.archiveKey);
      const stale = JSON.parse((await copy.getText(recordKey))!) as Record<string, unknown>;
      await copy.put(recordKey, JSON.stringify({ ...stale, archiveVersion: `${listed!.sizeBytes}:${listed!.modifiedMs}` }));
      assert.equal((await cli('status', source)).exitCode, 3, 'the record holds until the archive is read');
      const mended = await cli('verify', source, '--store', copy.url, '--wait');
      assert.equal(mended.exitCode, 0, mended.stderr);
      assert.match(mended.stdout, /^verified 2 archives in 1 store: 2 intact /m);
      assert.match(mended.stdout, new RegExp(`^  warning     ${older.backupId} reads back whole in ${escaped(copy.url)} now: its damage record was removed$`, 'm'));
      assert.equal(await copy.stat(recordKey), undefined);
      assert.equal((await cli('status', source)).exitCode, 0);
      // A record left over from before the archive was written again (it lapsed): removed as well.
      await copy.put(recordKey, JSON.stringify({ ...stale, archiveVersion: '1:1' }));
      const lapsed = await cli('verify', source, '--store', copy.url, '--wait');
      assert.equal(lapsed.exitCode, 0, lapsed.stderr);
      assert.equal(await copy.stat(recordKey), undefined);

      // An S3 server holding a wrong checksum for intact bytes: a restore would be refused them, so
      // verify says so, with the mend; nothing is recorded as damage.
      const onDisk = path.join(s3.dir, s3.bucket, 'offsite', newer.archiveKey);
      const checksums = execFileSync('python3', ['-c', "import os, sys; sys.stdout.write(os.getxattr(sys.argv[1], 'user.checksums').decode())", onDisk], { encoding: 'utf8' });
      const setChecksums = (json: string) => execFileSync('python3', ['-c', "import os, sys; os.setxattr(sys.argv[1], 'user.checksums', sys.argv[2].encode())", onDisk, json]);
      setChecksums(JSON.stringify({ ...(JSON.parse(checksums) as Record<string, string>), CRC32: 'AAAAAA==' }));
      const wrongCrc = await cli('verify', source, '--store', copy.url, '--wait');
      setChecksums(checksums);
      assert.equal(wrongCrc.exitCode, 3, wrongCrc.stderr);
      assert.match(
        wrongCrc.stdout,
        new RegExp(`^  UNREADABLE  ${newer.backupId} in ${escaped(copy.url)}: .*; yet its bytes, read again, match its manifest: the server holds a wrong checksum for intact bytes\\. Copy the object onto itself .* --checksum-algorithm CRC32\\)$`, 'm'),
      );
      assert.equal(await copy.stat(`${source}/${newer.backupId}.damaged.json`), undefined, 'not recorded as damage');

      // Input a worker does not know: one line naming the problem and the fix.
      const unknownStore = await cli('verify', '--store', 's3://elsewhere/pg', '--wait');
      assert.notEqual(unknownStore.exitCode, 0);
      assert.match(unknownStore.stderr, /store "s3:\/\/elsewhere\/pg" is not one of this worker's stores \(.*\); see BACKUP_STORE and BACKUP_COPIES/);
      const badName = await cli('verify', 'a/b', '--wait');
      assert.equal(badName.exitCode, 1, badName.stderr);
      assert.match(badName.stderr, /^pgkeeper: database "a\/b" contains a slash; /);
      const temporalDown = await execa(`${ROOT}/bin/pgkeeper`, ['verify', 'a/b'], { reject: false, extendEnv: false, env: { PATH: process.env.PATH!, HOME: process.env.HOME!, TEMPORAL_ADDRESS: '127.0.0.1:1' } });
      assert.match(temporalDown.stderr, /^pgkeeper: database "a\/b" contains a slash; /, 'the input is checked before Temporal is asked');

      // The store named as BACKUP_COPIES spells it (with its ?endpoint=).
      const asConfigured = await cli('verify', source, '--store', `s3://${s3.bucket}/offsite?endpoint=${s3.endpoint}`, '--wait');
      assert.equal(asConfigured.exitCode, 0, asConfigured.stderr);
      assert.match(asConfigured.stdout, /^verified 2 archives in 1 store: 2 intact /m);
      // A database backed up nowhere (a misspelt name in a cron line) needs attention too.
      const typo = await cli('verify', `${source}_typo`, '--wait');
      assert.equal(typo.exitCode, 3, typo.stderr);
      assert.match(typo.stdout, new RegExp(`^no backups of "${source}_typo" in ${escaped(t.store.url)}, ${escaped(copy.url)}$`, 'm'));
      assert.match(typo.stdout, new RegExp(`^ {2}warning {5}no store holds a backup of "${source}_typo": did you mean "${source}"\\? `, 'm'));
    });

    // A copy store whose bucket does not exist: said, and the other stores verified all the same.
    const emptyDir = path.join(tempDir('empty-copy'), 'offsite');
    mkdirSync(emptyDir); // a store's directory is made by a person: a root not there is a store not answering
    const missingBucket = testConfig({
      BACKUP_DIR: backupDir(t.config),
      BACKUP_COPIES: `s3://${s3.bucket}/offsite?endpoint=${s3.endpoint},s3://no-such-bucket/x?endpoint=${s3.endpoint},file://${emptyDir}`,
      AWS_ACCESS_KEY_ID: s3.credentials.accessKeyId,
      AWS_SECRET_ACCESS_KEY: s3.credentials.secretAccessKey,
    });
    await withWorker(env, missingBucket, async () => {
      const partly = await cli('verify', source, '--wait', '--queue', missingBucket.temporal.taskQueue);
      assert.equal(partly.exitCode, 3, partly.stderr);
      assert.match(partly.stdout, /^verified 4 archives in 2 stores: 4 intact /m);
      assert.match(partly.stdout, /^ {2}UNREACHABLE s3:\/\/no-such-bucket\/x: bucket "no-such-bucket" does not exist on .*; none of its archives were read$/m);
      // A store holding nothing (unmounted, a wrong prefix, copies never made) is as wrong.
      assert.match(partly.stdout, new RegExp(`^ {2}EMPTY {7}file://${escaped(emptyDir)}: no backups of "${source}" there$`, 'm'));
    });

    await withWorker(env, t.config, async () => {
      // The copy store down: the primary is verified, the copy named as not read.
      await s3.kill();
      const down = await cli('verify', source, '--wait');
      assert.equal(down.exitCode, 3, down.stderr);
      assert.match(down.stdout, /^verified 2 archives in 1 store: 2 intact /m);
      assert.match(down.stdout, new RegExp(`^  UNREACHABLE ${escaped(copy.url)}: .*; none of its archives were read$`, 'm'));
      // Only that store asked for: said at once, not retried for minutes.
      const none = await cli('verify', source, '--store', copy.url, '--wait');
      assert.equal(none.exitCode, 3, none.stderr);
      assert.match(none.stdout, new RegExp(`^no store could be read\n  UNREACHABLE ${escaped(copy.url)}: `, 'm'));
    });
  });

  it('a backup deleted while verify runs (retention, say) is said as gone, not reported UNREADABLE', async () => {
    // A large sparse archive read first (folders are read in name order), so the deletion lands mid-run.
    const big = uniqueName('pgk_a');
    const small = uniqueName('pgk_z');
    const manifest = await writeFakeBackup(t.store, big, 1);
    const archive = path.join(backupDir(t.config), big, manifest.files[0]!.name);
    const BIG = 3 * 1024 ** 3;
    await truncate(archive, 0); // zeros only, so the hash below is theirs
    await truncate(archive, BIG);
    const hash = createHash('sha256');
    const zeros = Buffer.alloc(64 * 1024 ** 2);
    for (let done = 0; done < BIG; done += zeros.length) hash.update(zeros);
    const manifestPath = path.join(backupDir(t.config), big, `${manifest.id}.manifest.json`);
    await writeFile(manifestPath, JSON.stringify({ ...manifest, files: [{ ...manifest.files[0]!, sizeBytes: BIG, sha256: hash.digest('hex') }] }));
    const gone = await writeFakeBackup(t.store, small, 1);
    const backups = (await t.store.list('')).filter((o) => o.key.endsWith('.manifest.json')).length;

    const activity = new MockActivityEnvironment();
    let deleted: Promise<void> | undefined;
    activity.on('heartbeat', (details: { phase?: string }) => {
      if (deleted || !details.phase?.startsWith(`reading ${big}/`)) return;
      deleted = (async () => {
        for (const key of await keysUnder(t.store, `${small}/`)) await t.store.delete(key);
      })();
    });
    const result = (await activity.run(verifyArchives, t.config, { store: t.store.url })) as VerifyResult;
    await deleted;
    assert.ok(deleted, 'the deletion happened while the big archive was read');
    assert.deepEqual(result.problems, []);
    assert.equal(result.intact, backups - 1, 'every backup of the store but the one deleted');
    assert.ok(result.bytesRead >= BIG, 'the big archive was read whole');
    assert.ok(result.warnings.includes(`${gone.id} was deleted from ${t.store.url} while verify ran (retention, say): not checked`), result.warnings.join('\n'));
    await rm(path.join(backupDir(t.config), big), { recursive: true });
  });

  it('a store whose root goes away while verify reads it (a disk unmounted) is UNREACHABLE with what was not read, not a store whose backups were all deleted', async () => {
    const config = testConfig();
    const store = openStore(config.stores.primary);
    const [a, b] = [uniqueName('pgk_gone_a'), uniqueName('pgk_gone_b')];
    const big = await writeFakeBackup(store, a, 3); // read first: ids oldest first, folders by name
    await writeFakeBackup(store, a, 2);
    await writeFakeBackup(store, a, 1);
    await writeFakeBackup(store, b, 1);
    const BIG = 2 * 1024 ** 3;
    const hash = createHash('sha256');
    const zeros = Buffer.alloc(64 * 1024 ** 2);
    for (let done = 0; done < BIG; done += zeros.length) hash.update(zeros);
    const archive = path.join(backupDir(config), a, big.files[0]!.name);
    await truncate(archive, 0);
    await truncate(archive, BIG);
    await writeFile(path.join(backupDir(config), a, `${big.id}.manifest.json`), JSON.stringify({ ...big, files: [{ ...big.files[0]!, sizeBytes: BIG, sha256: hash.digest('hex') }] }));

    const root = backupDir(config);
    const activity = new MockActivityEnvironment();
    let moved: Promise<void> | undefined;
    activity.on('heartbeat', (details: { phase?: string }) => {
      if (!moved && details.phase?.startsWith(`reading ${a}/${big.files[0]!.name}`)) moved = rename(root, `${root}.away`);
    });
    try {
      const result = (await activity.run(verifyArchives, config, {})) as VerifyResult;
      assert.ok(moved, 'the root went away while the big archive was read');
      assert.deepEqual(result.warnings, [], 'nothing said to be deleted');
      assert.deepEqual(
        result.unreachable.map((u) => [u.store, u.reason.replace(/ \([^)]*\)/g, '')]),
        [[store.url, `${store.url} is not there; mount it, make it, or change BACKUP_DIR; 3 of the 4 backups to read were not read`]],
      );
      assert.equal(result.intact, 1, 'the big one, read whole through its open file');
    } finally {
      await moved;
      await rename(`${root}.away`, root).catch(() => undefined);
      await rm(path.join(root, a), { recursive: true });
    }
  });

  it('a .sha256 sidecar that disagrees with its intact archive, or is missing, is a warning with the mend (sha256sum -c is the restore without pgkeeper); the archive counts intact', async () => {
    const config = testConfig();
    const store = openStore(config.stores.primary);
    const db = uniqueName('pgk_sidecars');
    const [wrong, missing, right] = [await writeFakeBackup(store, db, 3), await writeFakeBackup(store, db, 2), await writeFakeBackup(store, db, 1)];
    const sidecarOf = (m: typeof wrong) => sidecarKey(backupKeys(db, m.id, []).archive);
    await store.put(sidecarOf(wrong), `${'0'.repeat(64)}  ${wrong.files[0]!.name}\n`);
    await store.delete(sidecarOf(missing));
    const result = (await new MockActivityEnvironment().run(verifyArchives, config, { database: db })) as VerifyResult;
    assert.deepEqual([result.intact, result.problems], [3, []]);
    const mend = (m: typeof wrong) => `write it again (sha256sum ${m.files[0]!.name} > ${m.files[0]!.name}.sha256, in the backup's folder)`;
    assert.deepEqual(result.warnings, [
      `${sidecarOf(wrong)} in ${store.url} disagrees with its archive, which matches its manifest: \`sha256sum -c\` would report damage there is none of; ${mend(wrong)}`,
      `${sidecarOf(missing)} is missing in ${store.url}: \`sha256sum -c\` has nothing to check the archive with; ${mend(missing)}`,
    ]);
    assert.ok(!result.warnings.some((w) => w.includes(right.id)));
  });

  it('a backup only a newer pgkeeper reads is UNREADABLE with the upgrade, not DAMAGED, and no damage is recorded', async () => {
    const config = testConfig();
    const store = openStore(config.stores.primary);
    const db = uniqueName('pgk_verify_v4');
    const [v4] = [await writeFakeBackup(store, db, 2), await writeFakeBackup(store, db, 1)];
    await store.put(backupKeys(db, v4.id, []).manifest, JSON.stringify({ ...v4, manifestVersion: 4 }));
    const result = (await new MockActivityEnvironment().run(verifyArchives, config, { database: db })) as VerifyResult;
    assert.deepEqual([result.intact, result.damaged, result.unreadable], [1, 0, 1]);
    assert.deepEqual(result.problems, [
      { id: v4.id, folder: db, store: store.url, verdict: 'unreadable', reason: 'written by a newer pgkeeper (manifestVersion 4; this one reads up to 3): upgrade pgkeeper on the worker to read it' },
    ]);
    assert.equal(await store.stat(damageKey(db, v4.id)), undefined, 'not recorded as damage');
  });

  it('more problems than it lists: every one counted, the first 100 listed, and the summary says both', async () => {
    const config = testConfig();
    const store = openStore(config.stores.primary);
    const db = uniqueName('pgk_many_damaged');
    for (let i = 0; i < 105; i++) {
      const manifest = await writeFakeBackup(store, db, 1 + i / 24, `${i}`.padStart(8, '0'));
      await truncate(path.join(backupDir(config), db, manifest.files[0]!.name), 3); // the wrong size: damaged as listed
    }
    await writeFakeBackup(store, db, 10);
    const result = (await new MockActivityEnvironment().run(verifyArchives, config, { database: db })) as VerifyResult;
    assert.deepEqual([result.intact, result.damaged, result.unreadable, result.problems.length, result.problemsNotListed], [1, 105, 0, 100, 5]);
    const lines = verifyLines(result);
    assert.match(lines[0]!, /^verified 106 archives in 1 store: 1 intact, 105 DAMAGED \(100 listed\) /);
    assert.equal(lines.filter((l) => l.startsWith('  DAMAGED ')).length, 100);
    assert.ok(lines.includes('  … and 5 more (`pgkeeper backups` lists every DAMAGED one)'), lines.slice(-3).join('\n'));
  });

  it('an attempt cut short (its worker died) is retried from where it stopped: nothing read twice, nothing found twice, nothing left out', async () => {
    const config = testConfig();
    const store = openStore(config.stores.primary);
    const [a, b] = [uniqueName('pgk_resume_a'), uniqueName('pgk_resume_b')];
    // In reading order (folders by name, ids oldest first): a large damaged one, a large one, then the rest.
    const damaged = await writeFakeBackup(store, a, 3);
    const large = await writeFakeBackup(store, a, 2);
    await writeFakeBackup(store, a, 1);
    await writeFakeBackup(store, b, 1);
    await writeFakeGlobals(store, 1);
    const LARGE = 1024 ** 3;
    const hash = createHash('sha256');
    const zeros = Buffer.alloc(64 * 1024 ** 2);
    for (let done = 0; done < LARGE; done += zeros.length) hash.update(zeros);
    const zerosHash = hash.digest('hex');
    for (const manifest of [damaged, large]) {
      const archive = path.join(backupDir(config), a, manifest.files[0]!.name);
      await truncate(archive, 0); // zeros only, so their hash is the one above
      await truncate(archive, LARGE);
      await writeFile(path.join(backupDir(config), a, `${manifest.id}.manifest.json`), JSON.stringify({ ...manifest, files: [{ ...manifest.files[0]!, sizeBytes: LARGE, sha256: zerosHash }] }));
    }
    await writeFile(path.join(backupDir(config), a, damaged.files[0]!.name), 'x', { flag: 'r+' }); // one byte changed, the size the same

    // The first attempt ends (cancelled, as a dead worker's would) once it reads the large one; the
    // retry gets its last heartbeat, as Temporal hands a retry the last heartbeat of the attempt before.
    const first = new MockActivityEnvironment();
    let last: unknown;
    first.on('heartbeat', (details: { phase?: string }) => {
      if (last !== undefined) return;
      if (details.phase?.startsWith(`reading ${a}/${large.files[0]!.name}`)) {
        last = JSON.parse(JSON.stringify(details)); // as Temporal keeps it: serialized then
        first.cancel();
      }
    });
    await first.run(verifyArchives, config, {}).then(
      () => assert.fail('the first attempt was to be cut short'),
      () => undefined,
    );
    assert.equal((last as { resume?: { id?: string } }).resume?.id, damaged.id, 'the damaged one judged, the large one not yet');
    // Mended between the two attempts: a retry that read it again would find it whole, and remove its damage record.
    assert.notEqual(await store.getText(damageKey(a, damaged.id)), undefined, 'recorded by the first attempt');
    const damagedFile = path.join(backupDir(config), a, damaged.files[0]!.name);
    await truncate(damagedFile, 0);
    await truncate(damagedFile, LARGE);

    const retry = new MockActivityEnvironment({ heartbeatDetails: last });
    const result = (await retry.run(verifyArchives, config, {})) as VerifyResult;
    assert.deepEqual(
      result.problems.map((p) => [p.id, p.verdict]),
      [[damaged.id, 'damaged']],
      'found once, by the first attempt',
    );
    assert.notEqual(await store.getText(damageKey(a, damaged.id)), undefined, 'the retry did not read the damaged one again');
    assert.equal(result.intact, 4, 'the large one, the two after it and the globals');
    assert.ok(result.bytesRead >= 2 * LARGE && result.bytesRead < 2 * LARGE + 10_000, `each read once (the damaged one by the first attempt only): ${result.bytesRead}`);
    await rm(path.join(backupDir(config), a), { recursive: true });
  });
});
