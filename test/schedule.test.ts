import assert from 'node:assert/strict';
import { fileURLToPath } from 'node:url';
import { after, before, describe, it } from 'node:test';
import { execa } from 'execa';
import { ScheduleNotFoundError } from '@temporalio/client';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import { completeBackups } from '../activities/store/backup-catalog.js';
import { openStore } from '../activities/store/open-stores.js';
import { createSchedule, scheduleHandle, triggerNow } from '../client/schedules.js';
import { testConfig, uniqueName } from './helpers/config.js';
import type { Config } from '../common/config.js';
import { dropDatabase, holdTableLock, seedDatabase } from './helpers/postgres.js';
import { waitFor } from './helpers/processes.js';
import { startDevServer, withWorker } from './helpers/temporal.js';

const ROOT = fileURLToPath(new URL('..', import.meta.url));

describe('backup schedules', () => {
  let env: TestWorkflowEnvironment;
  const config = testConfig();
  const often = uniqueName('pgk_sched');
  const locked = uniqueName('pgk_sched_lock');

  const store = openStore(config.stores.primary);
  const backupsOf = async (db: string) => (await completeBackups(store, db)).length;

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

  it('schedule list shows the schedules of its own task queue only, not those of a queue whose name starts the same', async () => {
    // Three queues whose names share a prefix, as "prod", "prod2" and "prod:eu" would.
    const queue = (suffix: string): Config => ({ ...config, temporal: { ...config.temporal, taskQueue: `${config.temporal.taskQueue}${suffix}` } });
    const [q, q2, qEu] = [queue('-l'), queue('-l2'), queue('-l:eu')];
    const db = uniqueName('pgk_list');
    const handles = [];
    for (const c of [q, q2, qEu]) handles.push(await createSchedule(env.client, c, { database: db }, { every: '24h' }));
    const list = async (c: Config, ...flags: string[]) => {
      const cli = await execa(`${ROOT}/bin/pgkeeper`, ['schedule', 'list', ...flags], { reject: false, env: { TEMPORAL_ADDRESS: env.address, TASK_QUEUE: c.temporal.taskQueue } });
      assert.equal(cli.exitCode, 0, cli.stderr);
      return cli.stdout;
    };
    try {
      // Listing is eventually consistent: wait until every schedule is visible on its own queue.
      for (const [c, handle] of [[q, handles[0]!], [q2, handles[1]!], [qEu, handles[2]!]] as const) {
        await waitFor(`${handle.scheduleId} to be listed`, async () => (await list(c)).includes(handle.scheduleId));
      }
      const ids = (text: string) => [...text.matchAll(/^(pgkeeper-\S+)/gm)].map((m) => m[1]);
      assert.deepEqual(ids(await list(q)), [handles[0]!.scheduleId]);
      assert.deepEqual(ids(await list(q2)), [handles[1]!.scheduleId]);
      assert.deepEqual(ids(await list(qEu)), [handles[2]!.scheduleId]);
      const json = JSON.parse(await list(q, '--json')) as { scheduleId: string; paused: boolean; nextRun: string | null }[];
      assert.deepEqual(json.map((s) => [s.scheduleId, s.paused, typeof s.nextRun]), [[handles[0]!.scheduleId, false, 'string']]);
    } finally {
      for (const handle of handles) await handle.delete();
    }
  });
});
