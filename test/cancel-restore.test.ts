import assert from 'node:assert/strict';
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { WorkflowFailedError } from '@temporalio/client';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import { testConfig, uniqueName } from './helpers/config.js';
import { createBigDatabase, databaseExists, dropDatabase, listDatabases } from './helpers/postgres.js';
import { processesMatching, waitFor } from './helpers/processes.js';
import { startDevServer, withWorker } from './helpers/temporal.js';
import { runBackup, startRestore } from './helpers/workflows.js';

describe('cancelling a running restore', () => {
  let env: TestWorkflowEnvironment;
  const config = testConfig();
  const source = uniqueName('pgk_big');
  const into = uniqueName('pgk_big_copy');

  before(async () => {
    env = await startDevServer();
    await createBigDatabase(config, source);
  });
  after(async () => {
    for (const name of (await listDatabases(config)).filter((n) => n.startsWith(source) || n.startsWith(into))) await dropDatabase(config, name);
    await env?.teardown();
  });

  it('kills pg_restore and drops the staging database; the target never appears', async () => {
    await withWorker(env, config, async () => {
      const backup = await runBackup(env, config, source);
      const handle = await startRestore(env, config, { backup: backup.backupId, target: into });
      const staging = await waitFor('pg_restore to run into a staging database', async () => {
        const name = (await listDatabases(config)).find((n) => n.startsWith(`${into}_restoring_`));
        return name && processesMatching(`pg_restore.*${into}_restoring_`).length > 0 ? name : undefined;
      });
      await handle.cancel();
      await assert.rejects(handle.result(), (err) => err instanceof WorkflowFailedError && /cancel/i.test(String(err.cause)));
      assert.equal(processesMatching(`pg_restore.*${into}`).length, 0, 'no pg_restore left running');
      assert.equal(await databaseExists(config, staging), false, `staging database ${staging} was dropped`);
      assert.equal(await databaseExists(config, into), false, 'the target was never created');
    });
  });

  it('retention deleting the backup mid-restore does not break the restore (the archive is pinned)', async () => {
    const copy = `${into}_pinned`;
    await withWorker(env, config, async () => {
      const backup = await runBackup(env, config, source);
      const handle = await startRestore(env, config, { backup: backup.backupId, target: copy });
      await waitFor('pg_restore to run', () => processesMatching(`pg_restore.*${copy}_restoring_`).length > 0);
      // What retention does to a backup: manifest first, then the archive and its checksum.
      for (const file of [backup.manifestPath, backup.dumpPath, `${backup.dumpPath}.sha256`]) await fs.rm(file);
      const result = await handle.result();
      assert.equal(result.tables, 1);
      assert.equal(result.rows, 3_000_000);
      assert.deepEqual(await fs.readdir(path.join(config.backupDir, '.pinned')), [], 'the pin is released');
    });
  });
});
