import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { WorkflowFailedError } from '@temporalio/client';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import { testConfig, uniqueName } from './helpers/config.js';
import { createDatabase, databaseExists, dropDatabase, listDatabases, sql } from './helpers/postgres.js';
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
    // Big enough that pg_restore runs for seconds: ~3M rows and an index.
    await createDatabase(config, source);
    await sql(config, source, `create table big as select g as id, md5(g::text) || md5((g * 7)::text) as body from generate_series(1, 3000000) g;
                               create index big_body_idx on big (body); analyze big;`);
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
});
