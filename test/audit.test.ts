import assert from 'node:assert/strict';
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { after, before, describe, it } from 'node:test';
import { execa } from 'execa';
import { WorkflowFailedError } from '@temporalio/client';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import { makeBackupId } from '../common/backup-id.js';
import type { DrillProof } from '../common/types.js';
import { createSchedule } from '../client/schedules.js';
import { databaseStatus } from '../client/status.js';
import { listRuns, runsQuery } from '../client/visibility.js';
import { restoreDrill } from '../workflows/index.js';
import { testConfig, uniqueName } from './helpers/config.js';
import { dropDatabase, listDatabases, seedDatabase } from './helpers/postgres.js';
import { waitFor } from './helpers/processes.js';
import { startDevServer, withWorker } from './helpers/temporal.js';
import { rootFailure, runBackup } from './helpers/workflows.js';

const ROOT = fileURLToPath(new URL('..', import.meta.url));

describe('audit: search attributes, history, status, restore drills', () => {
  let env: TestWorkflowEnvironment;
  const config = testConfig();
  const database = uniqueName('pgk_audit');

  before(async () => {
    env = await startDevServer();
    await seedDatabase(config, database);
  });
  after(async () => {
    await dropDatabase(config, database);
    await env?.teardown();
  });

  it('a backup run is found by its database and backup id attributes; history shows it', async () => {
    const backup = await withWorker(env, config, () => runBackup(env, config, database));
    const runs = await waitFor('visibility to index the run', async () => {
      const found = await listRuns(env.client, config, { database, backupId: backup.backupId }, 10);
      return found.length === 1 && found[0]!.outcome === 'completed' ? found : undefined;
    });
    assert.equal(runs[0]!.operation, 'backup');
    assert.equal(runs[0]!.startedBy, 'manual');
    assert.equal(runsQuery(config, { database: "x'y" }).includes("PgkDatabase = 'x''y'"), true, 'query literals are quoted');

    const cli = await execa(`${ROOT}/bin/pgkeeper`, ['history', database], { reject: false, env: { TEMPORAL_ADDRESS: env.address, TASK_QUEUE: config.temporal.taskQueue } });
    assert.equal(cli.exitCode, 0, cli.stderr);
    assert.match(cli.stdout, new RegExp(`backup\\s+${database}\\s+manual\\s+completed\\s+${backup.backupId}`));
  });

  it('status reports a database whose newest backup is older than its schedule promises as stale', async () => {
    const old = uniqueName('pgk_stale');
    const dir = path.join(config.backupDir, old);
    await fs.mkdir(dir, { recursive: true });
    const at = Date.now() - 3 * 3_600_000; // three hours ago, for an hourly schedule
    const id = makeBackupId(old, at, 'abcdef12');
    await fs.writeFile(path.join(dir, `${id}.dump`), 'PGDMP');
    await fs.writeFile(path.join(dir, `${id}.manifest.json`), JSON.stringify({ id, database: old, startedAt: new Date(at).toISOString(), finishedAt: new Date(at).toISOString() }));
    const schedule = await createSchedule(env.client, config, { database: old }, { every: '1h' });
    await schedule.pause('no runs in this test');

    const stale = await databaseStatus(env.client, config, old);
    assert.equal(stale.schedule?.intervalMs, 3_600_000);
    assert.equal(stale.lastSuccessfulBackup?.backupId, id);
    assert.equal(stale.stale, true);
    const fresh = await databaseStatus(env.client, config, old, at + 30 * 60_000);
    assert.equal(fresh.stale, false, 'half an hour after the backup it was not stale');

    const cli = await execa(`${ROOT}/bin/pgkeeper`, ['status', old], {
      reject: false,
      env: { TEMPORAL_ADDRESS: env.address, TASK_QUEUE: config.temporal.taskQueue, BACKUP_DIR: config.backupDir },
    });
    assert.equal(cli.exitCode, 3, 'status exits 3 when a backup is stale');
    assert.match(cli.stdout, new RegExp(`${old}\\s.*paused\\s+STALE`));
    await schedule.delete();
  });

  it('a drill of a good backup records its proof and leaves no scratch database', async () => {
    const result = await withWorker(env, config, () =>
      env.client.workflow.execute(restoreDrill, { args: [{ database }], taskQueue: config.temporal.taskQueue, workflowId: uniqueName('drill') }),
    );
    assert.equal(result.tables, 3);
    assert.equal(result.rows, 10_000);
    assert.ok(result.proofPath, 'the proof was recorded');
    const proof = JSON.parse(await fs.readFile(result.proofPath, 'utf8')) as DrillProof;
    assert.equal(proof.backupId, result.backupId);
    assert.equal(path.dirname(result.proofPath), path.join(config.backupDir, database));
    assert.deepEqual((await listDatabases(config)).filter((n) => n.startsWith('pgkeeper_drill_')), []);
    const status = await databaseStatus(env.client, config, database);
    assert.equal(status.lastProvenRestore?.backupId, result.backupId);
  });

  it('a drill of a corrupted backup fails loudly', async () => {
    const backup = await withWorker(env, config, () => runBackup(env, config, database));
    await fs.truncate(backup.dumpPath, 1000);
    const err = await withWorker(env, config, () =>
      env.client.workflow
        .execute(restoreDrill, { args: [{ database }], taskQueue: config.temporal.taskQueue, workflowId: uniqueName('drill-bad') })
        .catch((e: unknown) => e),
    );
    assert.ok(err instanceof WorkflowFailedError);
    assert.equal(rootFailure(err).type, 'ChecksumMismatch');
    await fs.rm(backup.manifestPath); // leave a good newest backup for the other tests
  });
});
