/**
 * A restore checks the scratch space (SCRATCH_DIR) it needs before it downloads anything, and a
 * backup written by pgkeeper before stores and filters (manifest version 1, a plain -Fc archive)
 * still restores. SCRATCH_DIR is a real 4 MiB tmpfs (needs root, as CI has here).
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { promises as fs } from 'node:fs';
import { after, before, describe, it } from 'node:test';
import { randomUUID } from 'node:crypto';
import path from 'node:path';
import { WorkflowFailedError } from '@temporalio/client';
import { MockActivityEnvironment } from '@temporalio/testing';
import { dropStagingAndScratch } from '../activities/restore-archive.js';
import { stagingName } from '../common/restore-input.js';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import { openStore } from '../activities/store/open-stores.js';
import type { BackupManifest } from '../common/manifest.js';
import { testConfig, uniqueName } from './helpers/config.js';
import { createDatabase, dropDatabase, listDatabases, seedDatabase, sql, tableFingerprints } from './helpers/postgres.js';
import { readObject } from './helpers/stores.js';
import { startDevServer, withWorker } from './helpers/temporal.js';
import { tempDir } from './helpers/temp-dirs.js';
import { rootFailure, runBackup, runRestore } from './helpers/workflows.js';

describe('scratch space and old backups', () => {
  let env: TestWorkflowEnvironment;
  const tiny = tempDir('tiny-scratch');
  const config = testConfig({ SCRATCH_DIR: tiny });
  const large = uniqueName('pgk_large');
  const small = uniqueName('pgk_v1');
  const made: string[] = [];

  before(async () => {
    execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=4m', 'tmpfs', tiny]);
    env = await startDevServer();
    await createDatabase(config, large);
    await sql(config, large, `create table t as select g, md5(g::text) || md5((g * 3)::text) as r from generate_series(1, 200000) g`);
    await seedDatabase(config, small);
  });
  after(async () => {
    for (const db of [large, small, ...made]) await dropDatabase(config, db);
    await env?.teardown();
    execFileSync('umount', [tiny]);
  });

  it('cleaning up a run a killed worker left (then cancelled, or failed) removes its scratch file with its staging database', async () => {
    const staging = stagingName(uniqueName('pgk_left'), randomUUID());
    await createDatabase(config, staging);
    const file = path.join(tiny, `pgkeeper-scratch-${staging}.dump`);
    await fs.writeFile(file, 'the decompressed archive of a killed worker');
    await new MockActivityEnvironment().run(dropStagingAndScratch, config, staging);
    assert.equal(await fs.stat(file).catch(() => undefined), undefined, 'scratch file removed');
    assert.ok(!(await listDatabases(config)).includes(staging), 'staging database dropped');
  });

  it('a restore that needs more scratch space than SCRATCH_DIR has fails before downloading, naming both sizes', async () => {
    await withWorker(env, config, async () => {
      const backup = await runBackup(env, config, large);
      const before = await listDatabases(config);
      const err = await runRestore(env, config, { backup: backup.backupId, target: uniqueName('pgk_nospace') }).catch((e: unknown) => e);
      assert.ok(err instanceof WorkflowFailedError);
      assert.equal(rootFailure(err).type, 'DiskFull');
      assert.match(err.cause!.message, new RegExp(`restoring ${backup.backupId} needs \\d+ MiB of scratch space in ${tiny}, which has \\d+ MiB free; free space there or set SCRATCH_DIR to a larger disk`));
      assert.deepEqual(await listDatabases(config), before);
      assert.deepEqual(await fs.readdir(tiny), [], 'nothing was downloaded');
    });
  });

  it('a backup made by pgkeeper before version 2 manifests (plain -Fc archive, manifest v1) still restores', async () => {
    const roomy = testConfig(); // the default scratch directory: this test is not about space
    const store = openStore(roomy.stores.primary);
    await withWorker(env, roomy, async () => {
      const backup = await runBackup(env, roomy, small, { compression: 'gzip:1' });
      const key = `${small}/${backup.backupId}.manifest.json`;
      const v2 = JSON.parse((await readObject(store, key)).toString()) as BackupManifest;
      const file = v2.files[0]!;
      // The manifest as the previous pgkeeper wrote it: one file, compressLevel, no filters, no properties.
      const v1 = { manifestVersion: 1, id: v2.id, database: v2.database, format: 'custom', compressLevel: 1, verify: 'full', file: file.name, sizeBytes: file.sizeBytes, sha256: file.sha256, server: v2.server, pgDumpVersion: v2.pgDumpVersion, startedAt: v2.startedAt, finishedAt: v2.finishedAt, durationsMs: v2.durationsMs, toc: v2.toc, tables: v2.tables, workflow: v2.workflow };
      await store.put(key, JSON.stringify(v1));
      const into = uniqueName('pgk_v1_back');
      made.push(into);
      const result = await runRestore(env, roomy, { backup: 'latest', database: small, target: into });
      assert.equal(result.backup.label, backup.backupId);
      assert.equal(result.backup.checksum, 'verified');
      assert.match(result.warnings.join('\n'), /did not record database-level properties/);
      assert.deepEqual(await tableFingerprints(config, into), await tableFingerprints(config, small));
    });
  });
});
