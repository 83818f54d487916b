/**
 * Several workers, one Temporal: one worker (and task queue) per PostgreSQL server. Two workers
 * back up and restore databases of the same name at the same time without meeting: the
 * per-database lock is keyed by queue, each lists only its own store, schedules belong to one
 * queue, and the CLI picks the server with --queue.
 */
import assert from 'node:assert/strict';
import { fileURLToPath } from 'node:url';
import { after, before, describe, it } from 'node:test';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import { execa } from 'execa';
import { databaseWorkflowId } from '../common/names.js';
import { backupDir, testConfig, uniqueName, workerEnvironment } from './helpers/config.js';
import { requireWorker } from '../client/worker-workflow.js';
import { waitFor } from './helpers/processes.js';
import { startWorkerWithEnv } from './helpers/worker-with-env.js';
import { databaseExists, dropDatabase, seedDatabase } from './helpers/postgres.js';
import { startDevServer, withWorker } from './helpers/temporal.js';
import { runBackup, runRestore } from './helpers/workflows.js';

const ROOT = fileURLToPath(new URL('..', import.meta.url));

describe('two workers on two task queues, one Temporal', () => {
  let env: TestWorkflowEnvironment;
  const east = testConfig({ TASK_QUEUE: uniqueName('east') });
  const west = testConfig({ TASK_QUEUE: uniqueName('west') });
  const database = uniqueName('pgk_shared_name');
  const targets: string[] = [];

  before(async () => {
    env = await startDevServer();
    await seedDatabase(east, database);
  });
  after(async () => {
    for (const db of [database, ...targets]) await dropDatabase(east, db);
    await env?.teardown();
  });

  it('a second worker started on a queue whose worker has other stores is warned: runs would go to either', async () => {
    const other = testConfig({ TASK_QUEUE: east.temporal.taskQueue }); // a BACKUP_DIR of its own
    await withWorker(env, east, async () => {
      await requireWorker(env.client, east, 30_000);
      const second = await startWorkerWithEnv({ ...workerEnvironment(other), TEMPORAL_ADDRESS: env.address, LOG_LEVEL: 'info' });
      try {
        await waitFor('the warning', () => second.output().includes('another worker polls task queue'), 30_000).catch(() => assert.fail(second.output()));
        assert.match(second.output(), new RegExp(`another worker polls task queue \\\\"${east.temporal.taskQueue}\\\\" with other stores \\(\\d+@\\S+ pgkeeper stores:[0-9a-f]{8}\\)`));
      } finally {
        await second.stop();
      }
    });
    // The same stores: no word (on a queue of their own: Temporal lists the stopped one for minutes).
    const twins = testConfig({ TASK_QUEUE: uniqueName('twins'), BACKUP_DIR: backupDir(east) });
    await withWorker(env, twins, async () => {
      await requireWorker(env.client, twins, 30_000);
      const twin = await startWorkerWithEnv({ ...workerEnvironment(twins), TEMPORAL_ADDRESS: env.address, LOG_LEVEL: 'info' });
      await waitFor('it to run (its neighbours are looked at just before)', () => twin.output().includes('"state":"RUNNING"'), 30_000);
      await twin.stop();
      assert.doesNotMatch(twin.output(), /another worker polls/);
    });
  });

  it('back up and restore at the same time, each under its own lock, into its own store; --queue picks the worker', async () => {
    await withWorker(env, east, () =>
      withWorker(env, west, async () => {
        // Both "servers" have a database of this name: two backups at once, neither skipped.
        const [a, b] = await Promise.all([runBackup(env, east, database), runBackup(env, west, database)]);
        assert.notEqual(a.backupId, b.backupId);
        assert.notEqual(databaseWorkflowId(east.temporal.taskQueue, database), databaseWorkflowId(west.temporal.taskQueue, database));
        assert.deepEqual(a.stores.map((s) => s.store), [east.stores.primary.url]);
        assert.deepEqual(b.stores.map((s) => s.store), [west.stores.primary.url]);

        const [intoEast, intoWest] = [uniqueName('pgk_east_copy'), uniqueName('pgk_west_copy')];
        targets.push(intoEast, intoWest);
        const [ra, rb] = await Promise.all([
          runRestore(env, east, { backup: 'latest', database, target: intoEast }),
          runRestore(env, west, { backup: 'latest', database, target: intoWest }),
        ]);
        assert.equal(ra.backup.label, a.backupId, 'east restores east\'s backup');
        assert.equal(rb.backup.label, b.backupId, 'west restores west\'s backup');
        assert.ok((await databaseExists(east, intoEast)) && (await databaseExists(east, intoWest)));

        // The CLI: the same command, two servers, told apart by --queue (or TASK_QUEUE).
        const cli = (queue: string, ...args: string[]) =>
          execa(`${ROOT}/bin/pgkeeper`, ['--queue', queue, ...args], { reject: false, env: { TEMPORAL_ADDRESS: env.address, TASK_QUEUE: 'nobody-polls-this' } });
        const [listEast, listWest] = [await cli(east.temporal.taskQueue, 'backups', database), await cli(west.temporal.taskQueue, 'backups', database)];
        assert.equal(listEast.exitCode, 0, listEast.stderr);
        assert.match(listEast.stdout, new RegExp(a.backupId));
        assert.doesNotMatch(listEast.stdout, new RegExp(b.backupId));
        assert.match(listWest.stdout, new RegExp(b.backupId));
        assert.doesNotMatch(listWest.stdout, new RegExp(a.backupId));
        // The option works after the command too, as people type it.
        const after = await execa(`${ROOT}/bin/pgkeeper`, ['backups', database, '--queue', west.temporal.taskQueue], { reject: false, env: { TEMPORAL_ADDRESS: env.address } });
        assert.match(after.stdout, new RegExp(b.backupId));

        // Schedules belong to one queue: each lists its own.
        for (const config of [east, west]) {
          const created = await cli(config.temporal.taskQueue, 'schedule', 'create', database, '--every', '24h');
          assert.equal(created.exitCode, 0, created.stderr);
        }
        const schedules = await cli(east.temporal.taskQueue, 'schedule', 'list');
        assert.match(schedules.stdout, new RegExp(`pgkeeper-backup:${east.temporal.taskQueue}:${database}`));
        assert.doesNotMatch(schedules.stdout, new RegExp(west.temporal.taskQueue));
        for (const config of [east, west]) await cli(config.temporal.taskQueue, 'schedule', 'delete', database);
      }),
    );
  });
});
