/**
 * age encryption end to end: workers that back up hold recipients only; restores need a matching
 * identity and say so before anything is created; keys rotate; and the plain age, zstd, sha256sum
 * and pg_restore tools undo it all without pgkeeper.
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { promises as fs, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { WorkflowFailedError } from '@temporalio/client';
import type { ApplicationFailure } from '@temporalio/common';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import { listBackups as listEveryBackup } from '../activities/list-backups.js';
import { openStore } from '../activities/store/open-stores.js';
import { fetchArchive } from '../activities/stream/fetch-archive.js';
import { backupKeys } from '../common/backup-keys.js';
import { parseManifest, type BackupManifest, type GlobalsManifest } from '../common/manifest.js';
import { backupCluster } from '../workflows/index.js';
import { pgTool, pgToolEnv } from './helpers/cluster.js';
import { testConfig, uniqueName } from './helpers/config.js';
import { createDatabase, dropDatabase, listDatabases, seedDatabase, sql, tableFingerprints } from './helpers/postgres.js';
import { historyText } from './helpers/history-text.js';
import { databaseWorkflowId } from '../common/names.js';
import { readObject } from './helpers/stores.js';
import { startDevServer, withWorker } from './helpers/temporal.js';
import { tempDir } from './helpers/temp-dirs.js';
import { rootFailure, runBackup, runRestore } from './helpers/workflows.js';

/** A fresh age identity file and its public key, made by the real age-keygen. */
function identity(dir: string, name: string): { file: string; recipient: string } {
  const file = path.join(dir, `${name}.txt`);
  execFileSync('age-keygen', ['-o', file], { stdio: 'ignore' });
  return { file, recipient: execFileSync('age-keygen', ['-y', file], { encoding: 'utf8' }).trim() };
}

describe('encryption with age', () => {
  let env: TestWorkflowEnvironment;
  const keys = tempDir('age-keys');
  const backups = tempDir('enc-store');
  const scratch = tempDir('enc-scratch');
  const oldKey = identity(keys, 'old');
  const newKey = identity(keys, 'new');
  const both = path.join(keys, 'both.txt');
  writeFileSync(both, `${oldKey.recipient}\n# the key we rotate to\n${newKey.recipient}\n`);
  const source = uniqueName('pgk_enc');
  const made: string[] = [];
  const shared = { BACKUP_DIR: backups, SCRATCH_DIR: scratch };
  /** Workers share one store and differ in the keys they hold, as a backup host and a restore host would. */
  const worker = (env: Record<string, string>) => testConfig({ ...shared, ...env });

  const refused = async (config: ReturnType<typeof testConfig>, input: Parameters<typeof runRestore>[2], type: string, message: RegExp) => {
    const before = await listDatabases(config);
    const err = await withWorker(env, config, () => runRestore(env, config, input)).catch((e: unknown) => e);
    assert.ok(err instanceof WorkflowFailedError, String(err));
    assert.equal(rootFailure(err).type, type, rootFailure(err).message);
    assert.match(err.cause!.message, message);
    assert.deepEqual(await listDatabases(config), before, 'nothing was created');
    assert.deepEqual(await fs.readdir(scratch), [], 'nothing left in scratch');
  };

  before(async () => {
    env = await startDevServer();
    await seedDatabase(worker({}), source);
  });
  after(async () => {
    const config = worker({});
    for (const db of [source, ...made]) await dropDatabase(config, db);
    await env?.teardown();
  });

  it('database settings and comment (a JWT key, say) are sealed to the recipients: not in the manifest nor any history in the clear, restored where the identity is, opened by hand with age', async () => {
    const db = uniqueName('pgk_enc_settings');
    made.push(db);
    const into = uniqueName('pgk_enc_settings_copy');
    made.push(into);
    const plain = worker({});
    await seedDatabase(plain, db);
    await sql(plain, 'postgres', `alter database ${db} set app.jwt_secret to 'JWT_SECRET_4242'`);
    await sql(plain, 'postgres', `comment on database ${db} is 'COMMENT_SECRET_4242'`);
    const backupHost = worker({ ENCRYPT_RECIPIENTS: newKey.recipient });
    const result = await withWorker(env, backupHost, () => runBackup(env, backupHost, db));
    const manifestText = (await readObject(openStore(backupHost.stores.primary), `${db}/${result.backupId}.manifest.json`)).toString();
    assert.doesNotMatch(manifestText, /SECRET_4242/);
    const sealed = (JSON.parse(manifestText) as BackupManifest).databaseProperties!.sealed!;
    // A pgkeeper that cannot open sealed settings refuses the manifest, not restores without them.
    assert.equal((JSON.parse(manifestText) as BackupManifest).manifestVersion, 3);
    assert.match(execFileSync('age', ['-d', '-i', newKey.file], { input: sealed, encoding: 'utf8' }), /app\.jwt_secret=JWT_SECRET_4242.*COMMENT_SECRET_4242/);

    const restoreHost = worker({ AGE_IDENTITY_FILE: newKey.file });
    await withWorker(env, restoreHost, () => runRestore(env, restoreHost, { backup: result.backupId, target: into }));
    const [row] = await sql<{ settings: string[]; comment: string }>(plain, 'postgres', `select (select setconfig from pg_db_role_setting s where s.setdatabase = d.oid and s.setrole = 0) as settings, shobj_description(d.oid, 'pg_database') as comment from pg_database d where datname = $1`, [into]);
    assert.deepEqual(row, { settings: ['app.jwt_secret=JWT_SECRET_4242'], comment: 'COMMENT_SECRET_4242' });
    for (const workflowId of [databaseWorkflowId(backupHost.temporal.taskQueue, db), databaseWorkflowId(restoreHost.temporal.taskQueue, into)]) {
      const text = historyText(env.address, workflowId);
      assert.ok(text.includes(result.backupId), `the history of ${workflowId} is read`);
      assert.doesNotMatch(text, /SECRET_4242/, workflowId);
    }
    // Absent from the resolved backup, not empty: a worker too old to open them fails on that rather than restore none.
    assert.doesNotMatch(historyText(env.address, databaseWorkflowId(restoreHost.temporal.taskQueue, into)), /"roleSettings"/);

    // Unencrypted, the manifest holds them as they are (as the archive holds the data), and a
    // restore reads them from there: still not in its history.
    const clear = await withWorker(env, plain, () => runBackup(env, plain, db));
    const intoClear = uniqueName('pgk_enc_settings_clear');
    made.push(intoClear);
    await withWorker(env, plain, () => runRestore(env, plain, { backup: clear.backupId, target: intoClear }));
    const [again] = await sql<{ settings: string[] }>(plain, 'postgres', `select setconfig as settings from pg_db_role_setting s join pg_database d on s.setdatabase = d.oid and s.setrole = 0 where datname = $1`, [intoClear]);
    assert.deepEqual(again?.settings, ['app.jwt_secret=JWT_SECRET_4242']);
    const restoreHistory = historyText(env.address, databaseWorkflowId(plain.temporal.taskQueue, intoClear));
    assert.ok(restoreHistory.includes(clear.backupId));
    assert.doesNotMatch(restoreHistory, /SECRET_4242|"roleSettings"/);
  });

  it('sealed settings that do not open in the primary\'s manifest are read from the copy\'s, as a damaged archive is', async () => {
    const db = uniqueName('pgk_enc_sealed_copy');
    const into = uniqueName('pgk_enc_sealed_copy_to');
    made.push(db, into);
    const plain = worker({});
    await seedDatabase(plain, db);
    await sql(plain, 'postgres', `alter database ${db} set app.copy_secret to 'FROM_THE_COPY'`);
    const copies = { BACKUP_COPIES: tempDir('enc-sealed-copy') };
    const backupHost = worker({ ...copies, ENCRYPT_RECIPIENTS: newKey.recipient });
    const result = await withWorker(env, backupHost, () => runBackup(env, backupHost, db));
    const primary = openStore(backupHost.stores.primary);
    const key = `${db}/${result.backupId}.manifest.json`;
    const manifest = JSON.parse((await readObject(primary, key)).toString()) as BackupManifest;
    const sealed = manifest.databaseProperties!.sealed!;
    const at = sealed.indexOf('\n') + 10; // a character inside the armored body
    manifest.databaseProperties!.sealed = sealed.slice(0, at) + (sealed[at] === 'A' ? 'B' : 'A') + sealed.slice(at + 1);
    await primary.put(key, JSON.stringify(manifest));
    const restoreHost = worker({ ...copies, AGE_IDENTITY_FILE: newKey.file });
    await withWorker(env, restoreHost, () => runRestore(env, restoreHost, { backup: result.backupId, target: into }));
    const [row] = await sql<{ settings: string[] }>(plain, 'postgres', `select setconfig as settings from pg_db_role_setting s join pg_database d on s.setdatabase = d.oid and s.setrole = 0 where datname = $1`, [into]);
    assert.deepEqual(row?.settings, ['app.copy_secret=FROM_THE_COPY']);
  });

  it('a backup is encrypted to every recipient; the sidecar covers the stored bytes; age | zstd | pg_restore undoes it without pgkeeper', async () => {
    const backupHost = worker({ ENCRYPT_RECIPIENTS: both });
    const result = await withWorker(env, backupHost, () => runBackup(env, backupHost, source));
    assert.equal(result.encrypted, true);
    assert.equal(result.archiveKey, `${source}/${result.backupId}.dump.zst.age`);
    const store = openStore(backupHost.stores.primary);
    const manifest = parseManifest((await readObject(store, `${source}/${result.backupId}.manifest.json`)).toString(), result.backupId) as BackupManifest;
    assert.deepEqual(manifest.filters, [{ filter: 'zstd', level: 1 }, { filter: 'age', recipients: [oldKey.recipient, newKey.recipient] }]);
    assert.match(manifest.plaintext?.sha256 ?? '', /^[0-9a-f]{64}$/, 'the archive before encryption has its own checksum');
    const stored = await readObject(store, result.archiveKey);
    assert.ok(stored.subarray(0, 40).toString().startsWith('age-encryption.org/v1'), 'the age v1 format');

    // Which identity a restore needs, without opening the manifest: the listing names the keys.
    const listed = (await listEveryBackup(backupHost, { database: source })).backups.find((b) => b.id === result.backupId);
    assert.deepEqual(listed?.recipients, [oldKey.recipient, newKey.recipient]);

    const dir = path.join(backups, source);
    execFileSync('sha256sum', ['-c', `${result.backupId}.dump.zst.age.sha256`], { cwd: dir });
    for (const key of [oldKey, newKey]) {
      const copy = uniqueName('pgk_enc_plain');
      made.push(copy);
      await createDatabase(backupHost, copy);
      // The README's recipe, verbatim but for names.
      execFileSync('bash', ['-c', `age -d -i "$KEY" "$ARCHIVE" | zstd -dc | "$PG_RESTORE" --exit-on-error -d "$DB"`], {
        env: { ...pgToolEnv(), KEY: key.file, ARCHIVE: path.join(dir, `${result.backupId}.dump.zst.age`), PG_RESTORE: pgTool('pg_restore'), DB: copy },
      });
      assert.deepEqual(await tableFingerprints(backupHost, copy), await tableFingerprints(backupHost, source));
    }
  });

  it('keys rotate: a backup made for the old key restores with the old identity; without a matching identity a restore fails at once, naming the recipients', async () => {
    const beforeRotation = worker({ ENCRYPT_RECIPIENTS: oldKey.recipient });
    const old = await withWorker(env, beforeRotation, () => runBackup(env, beforeRotation, source));
    const afterRotation = worker({ ENCRYPT_RECIPIENTS: newKey.recipient });
    const fresh = await withWorker(env, afterRotation, () => runBackup(env, afterRotation, source));

    const oldRestoreHost = worker({ AGE_IDENTITY_FILE: oldKey.file });
    const into = uniqueName('pgk_enc_old');
    made.push(into);
    const restored = await withWorker(env, oldRestoreHost, () => runRestore(env, oldRestoreHost, { backup: old.backupId, target: into }));
    assert.equal(restored.backup.label, old.backupId);
    assert.deepEqual(await tableFingerprints(oldRestoreHost, into), await tableFingerprints(oldRestoreHost, source));

    await refused(oldRestoreHost, { backup: fresh.backupId, target: uniqueName('pgk_enc_nokey') }, 'IdentityMissing', new RegExp(`encrypted to ${newKey.recipient}, and AGE_IDENTITY_FILE on this worker holds none`));
    await refused(worker({}), { backup: old.backupId, target: uniqueName('pgk_enc_noid') }, 'IdentityMissing', /AGE_IDENTITY_FILE is not set on this worker; set it on the worker that restores/);

    // One identity file holding both keys (as README says: cat old new > identities) restores both sides of the rotation.
    const identities = path.join(keys, 'identities.txt');
    writeFileSync(identities, readFileSync(oldKey.file, 'utf8') + readFileSync(newKey.file, 'utf8'), { mode: 0o600 });
    const bothHost = worker({ AGE_IDENTITY_FILE: identities });
    for (const backup of [old, fresh]) {
      const target = uniqueName('pgk_enc_both');
      made.push(target);
      const result = await withWorker(env, bothHost, () => runRestore(env, bothHost, { backup: backup.backupId, target }));
      assert.equal(result.backup.label, backup.backupId);
      assert.deepEqual(await tableFingerprints(bothHost, target), await tableFingerprints(bothHost, source));
    }
  });

  it('damaged encrypted archives and unknown filters are refused, non-retryable, target untouched, scratch empty', async () => {
    const host = worker({ ENCRYPT_RECIPIENTS: oldKey.recipient, AGE_IDENTITY_FILE: oldKey.file });
    const store = openStore(host.stores.primary);
    const flipped = await withWorker(env, host, () => runBackup(env, host, source));
    const bytes = await readObject(store, flipped.archiveKey);
    bytes[bytes.length >> 1] = bytes[bytes.length >> 1]! ^ 0x01;
    await store.put(flipped.archiveKey, bytes);
    await refused(host, { backup: flipped.backupId, target: uniqueName('pgk_enc_flip') }, 'CorruptArchive', new RegExp(`^${flipped.backupId} in ${store.url}: age cannot decrypt the archive \\((?!.*report unexpected).*\\): the archive is damaged or was changed; restore another backup, or this one from another store if it has a copy$`));

    // Damage in the header (this key's wrapped file key): age matches no identity, though the
    // manifest lists this worker's key. Damage, recorded, and the intact copy restores; not a key to fix.
    const copying = worker({ ENCRYPT_RECIPIENTS: oldKey.recipient, AGE_IDENTITY_FILE: oldKey.file, BACKUP_COPIES: tempDir('enc-copy') });
    await withWorker(env, copying, async () => {
      const header = await runBackup(env, copying, source);
      const stored = await readObject(store, header.archiveKey);
      const wrapped = stored.indexOf('\n', stored.indexOf('-> X25519')) + 5;
      stored[wrapped] = stored[wrapped] === 0x41 ? 0x42 : 0x41; // base64 'A' <-> 'B'
      await store.put(header.archiveKey, stored);
      const target = uniqueName('pgk_enc_header');
      made.push(target);
      const restored = await runRestore(env, copying, { backup: header.backupId, target });
      assert.equal(restored.backup.store, copying.stores.copies[0]!.url);
      assert.match(restored.warnings.join('\n'), /age cannot decrypt the archive with AGE_IDENTITY_FILE, whose key its manifest lists among the recipients \(.*no identity matched/);
      assert.ok(await store.stat(`${source}/${header.backupId}.damaged.json`), 'the damage is recorded where it was found');
    });

    const truncated = await withWorker(env, host, () => runBackup(env, host, source));
    const manifestKey = `${source}/${truncated.backupId}.manifest.json`;
    const manifest = JSON.parse((await readObject(store, manifestKey)).toString()) as BackupManifest;
    const cut = (await readObject(store, truncated.archiveKey)).subarray(0, 300);
    await store.put(truncated.archiveKey, cut);
    manifest.files[0]!.sizeBytes = cut.length; // as if it had been stored that way: only age can tell
    await store.put(manifestKey, JSON.stringify(manifest));
    await refused(host, { backup: truncated.backupId, target: uniqueName('pgk_enc_cut') }, 'CorruptArchive', /age cannot decrypt the archive/);

    manifest.filters = [{ filter: 'lz4', level: 1 } as never, ...manifest.filters];
    await store.put(manifestKey, JSON.stringify(manifest));
    await refused(host, { backup: truncated.backupId, target: uniqueName('pgk_enc_lz4') }, 'UnknownFilter', /was written by a newer pgkeeper \(filter "lz4"; this one knows "zstd" and "age"\): upgrade pgkeeper on the worker to read it$/);
  });

  it('an identity file removed or garbled after the worker started: one clear failure naming AGE_IDENTITY_FILE, never damage, and the worker lives on', async () => {
    const file = path.join(keys, 'changing.txt');
    writeFileSync(file, readFileSync(oldKey.file, 'utf8'), { mode: 0o600 });
    const host = worker({ ENCRYPT_RECIPIENTS: oldKey.recipient, AGE_IDENTITY_FILE: file });
    const store = openStore(host.stores.primary);
    await withWorker(env, host, async () => {
      const backup = await runBackup(env, host, source);
      const first = uniqueName('pgk_enc_id');
      made.push(first);
      await runRestore(env, host, { backup: backup.backupId, target: first }); // the worker has read the identity once
      const fails = async (message: RegExp) => {
        const err = await runRestore(env, host, { backup: backup.backupId, target: uniqueName('pgk_enc_id_gone') }).catch((e: unknown) => e);
        assert.ok(err instanceof WorkflowFailedError, String(err));
        assert.equal(rootFailure(err).type, 'InvalidInput', rootFailure(err).message);
        assert.match(rootFailure(err).message, message);
      };
      writeFileSync(file, 'not a key\n');
      await fails(new RegExp(`^AGE_IDENTITY_FILE ${file} is not a readable age identity file \\(`));
      await fs.rm(file);
      await fails(new RegExp(`^AGE_IDENTITY_FILE ${file} cannot be read \\(ENOENT\\)`));
      assert.equal(await store.stat(`${source}/${backup.backupId}.damaged.json`), undefined, 'a key problem is not damage');

      // Read with fetchArchive itself (a globals backup's only check is there): the same cause, before any tool starts, and no crash.
      const scratchFile = path.join(scratch, 'probe.dump');
      const manifest = parseManifest((await readObject(store, `${source}/${backup.backupId}.manifest.json`)).toString(), backup.backupId) as BackupManifest;
      const read = fetchArchive(
        { store, key: backup.archiveKey, label: backup.backupId, filters: manifest.filters, identityFile: file, expected: { sizeBytes: manifest.files[0]!.sizeBytes, sha256: manifest.files[0]!.sha256, plaintext: manifest.plaintext } },
        { file: scratchFile },
        new AbortController().signal,
        () => undefined,
      );
      await assert.rejects(read, (err: ApplicationFailure) => err.type === 'InvalidInput' && err.message.startsWith(`AGE_IDENTITY_FILE ${file} cannot be read (ENOENT)`));
      await fs.rm(scratchFile, { force: true });

      writeFileSync(file, readFileSync(oldKey.file, 'utf8'), { mode: 0o600 });
      const again = uniqueName('pgk_enc_id_back');
      made.push(again);
      assert.equal((await runRestore(env, host, { backup: backup.backupId, target: again })).backup.label, backup.backupId, 'the same worker restores once the file is back');
    });
  });

  it('globals backups (role password hashes) are encrypted too', async () => {
    const host = worker({ ENCRYPT_RECIPIENTS: oldKey.recipient });
    const result = await withWorker(env, host, () =>
      env.client.workflow.execute(backupCluster, { args: [{ include: [source] }], taskQueue: host.temporal.taskQueue, workflowId: uniqueName('cluster') }),
    );
    assert.equal(result.globals.encrypted, true);
    const store = openStore(host.stores.primary);
    const id = result.globals.id!;
    const manifest = parseManifest((await readObject(store, `.globals/${id}.manifest.json`)).toString(), id) as GlobalsManifest;
    const key = backupKeys('.globals', id, manifest.filters).archive;
    assert.equal(key, `.globals/${id}.sql.age`);
    const stored = await readObject(store, key);
    assert.ok(!stored.includes('CREATE ROLE'), 'no role statement readable at rest');
    const plain = execFileSync('age', ['-d', '-i', oldKey.file], { input: stored, encoding: 'utf8' });
    assert.match(plain, /CREATE ROLE/);
  });
});
