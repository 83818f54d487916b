/**
 * `pgkeeper verify`: every stored archive, in every store (a local primary, an S3 copy), read back
 * and held against its manifest. Damage nobody has read yet (here a byte changed in the copy) is
 * found, named and recorded, so `status` reports it; a record on an archive that reads back whole
 * again is removed; a store that does not answer is said, and all of these exit 3.
 */
import assert from 'node:assert/strict';
import { fileURLToPath } from 'node:url';
import { after, before, describe, it } from 'node:test';
import { WorkflowFailedError } from '@temporalio/client';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import { execa } from 'execa';
import { openStore } from '../activities/store/open-stores.js';
import { listBackups, verifyBackups } from '../workflows/index.js';
import { uniqueName } from './helpers/config.js';
import { dropDatabase, seedDatabase } from './helpers/postgres.js';
import { startS3Server, type S3Server } from './helpers/s3-server.js';
import { flipByte, readObject, storeUnderTest, type StoreUnderTest } from './helpers/stores.js';
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
      // The run itself failed (so it notifies, and history shows it), its first line the damage.
      const failed = await env.client.workflow
        .execute(verifyBackups, { args: [{ database: source }], taskQueue: t.config.temporal.taskQueue, workflowId: uniqueName('verify') })
        .catch((e: unknown) => e);
      assert.ok(failed instanceof WorkflowFailedError, String(failed));
      assert.equal(rootFailure(failed).type, 'BackupDamaged');
      assert.match(rootFailure(failed).message, new RegExp(`^verify of 4 archives in ${escaped(t.store.url)}, ${escaped(copy.url)}: ${older.backupId} DAMAGED in ${escaped(copy.url)} \\(it reads back as `));
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
      const primaryOnly = await cli('verify', source, '--store', t.store.url, '--wait');
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

      // Input a worker does not know: one line naming the problem and the fix.
      const unknownStore = await cli('verify', '--store', 's3://elsewhere/pg', '--wait');
      assert.notEqual(unknownStore.exitCode, 0);
      assert.match(unknownStore.stderr, /store "s3:\/\/elsewhere\/pg" is not one of this worker's stores \(.*\); see BACKUP_STORE and BACKUP_COPIES/);
      const badName = await cli('verify', 'a/b', '--wait');
      assert.equal(badName.exitCode, 1, badName.stderr);
      assert.match(badName.stderr, /^pgkeeper: database "a\/b" contains a slash; /);

      // The copy store down: the primary is verified, the copy named as not read.
      await s3.kill();
      const down = await cli('verify', source, '--wait');
      assert.equal(down.exitCode, 3, down.stderr);
      assert.match(down.stdout, /^verified 2 archives in 1 store: 2 intact /m);
      assert.match(down.stdout, new RegExp(`^  UNREACHABLE ${escaped(copy.url)}: .* \\(its archives were not read\\)$`, 'm'));
    });
  });
});
