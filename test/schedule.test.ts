import assert from 'node:assert/strict';
import { fileURLToPath } from 'node:url';
import { after, before, describe, it } from 'node:test';
import { execa } from 'execa';
import { ScheduleNotFoundError } from '@temporalio/client';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import { listCompleteBackups } from '../activities/backup-store.js';
import { createSchedule, scheduleHandle, triggerNow } from '../client/schedules.js';
import { testConfig, uniqueName } from './helpers/config.js';
import { dropDatabase, holdTableLock, seedDatabase } from './helpers/postgres.js';
import { waitFor } from './helpers/processes.js';
import { startDevServer, withWorker } from './helpers/temporal.js';

const ROOT = fileURLToPath(new URL('..', import.meta.url));

describe('backup schedules', () => {
  let env: TestWorkflowEnvironment;
  const config = testConfig();
  const often = uniqueName('pgk_sched');
  const locked = uniqueName('pgk_sched_lock');

  const backupsOf = async (db: string) => (await listCompleteBackups(config.backupDir, db)).length;

  before(async () => {
    env = await startDevServer();
    await seedDatabase(config, often);
    await seedDatabase(config, locked);
  });
  after(async () => {
    await dropDatabase(config, often);
    await dropDatabase(config, locked);
    await env?.teardown();
  });

  it('fires on its interval and produces backups; pause, trigger and delete work', async () => {
    await withWorker(env, config, async () => {
      const handle = await createSchedule(env.client, config, { database: often }, { every: '2s', retention: { keepLast: 50 } });
      await waitFor('the schedule to produce a backup', async () => (await backupsOf(often)) >= 1, 30_000);

      await handle.pause('test');
      const described = await handle.describe();
      assert.equal(described.state.paused, true);
      assert.equal(described.policies.overlap, 'SKIP');
      assert.equal(described.policies.catchupWindow, 12 * 3_600_000);
      // Let a run that started before the pause finish, then nothing new may appear on its own.
      await waitFor('running actions to finish', async () => (await handle.describe()).info.runningActions.length === 0, 30_000);
      const whilePaused = await backupsOf(often);
      await new Promise((r) => setTimeout(r, 4_500));
      assert.equal(await backupsOf(often), whilePaused, 'a paused schedule starts nothing');

      await triggerNow(handle);
      await waitFor('the triggered run to produce a backup', async () => (await backupsOf(often)) === whilePaused + 1, 30_000);

      const cli = await execa(`${ROOT}/bin/pgkeeper`, ['schedule', 'describe', often], {
        reject: false,
        env: { TEMPORAL_ADDRESS: env.address, TASK_QUEUE: config.temporal.taskQueue },
      });
      assert.equal(cli.exitCode, 0, cli.stderr);
      assert.match(cli.stdout, /\(paused: test\)/);
      assert.match(cli.stdout, /overlap    SKIP, catch-up window 12 h/);

      await handle.delete();
      await assert.rejects(handle.describe(), ScheduleNotFoundError);
    });
  });

  it('a trigger while the previous run is still going is skipped (overlap SKIP)', async () => {
    const lock = await holdTableLock(config, locked); // the first run's pg_dump waits
    await withWorker(env, config, async () => {
      const handle = await createSchedule(env.client, config, { database: locked }, { every: '24h' });
      await triggerNow(handle);
      await waitFor('the first run to start', async () => (await handle.describe()).info.runningActions.length === 1);
      await triggerNow(handle);
      await waitFor('the second trigger to be skipped', async () => (await handle.describe()).info.numActionsSkippedOverlap >= 1);
      assert.equal((await handle.describe()).info.runningActions.length, 1);

      await lock.end(); // the first run can now finish
      await waitFor('the first run to finish', async () => (await handle.describe()).info.runningActions.length === 0, 60_000);
      assert.equal(await backupsOf(locked), 1, 'exactly one backup: the skipped trigger did nothing');
      await scheduleHandle(env.client, config, { database: locked }).delete();
    });
  });
});
