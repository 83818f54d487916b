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
import { writeFakeBackup } from './helpers/fake-backups.js';
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

      const triggered = await triggerNow(handle); // a paused schedule takes a trigger too
      assert.ok('started' in triggered, JSON.stringify(triggered));
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

  it('pause and unpause keep the note the schedule was made with (Temporal would replace it)', async () => {
    const database = uniqueName('pgk_noted');
    const handle = await createSchedule(env.client, config, { database }, { cron: '0 3 * * *', note: 'nightly, for finance' });
    const cli = async (...args: string[]) => {
      const r = await execa(`${ROOT}/bin/pgkeeper`, ['schedule', ...args], { reject: false, env: { TEMPORAL_ADDRESS: env.address, TASK_QUEUE: config.temporal.taskQueue } });
      assert.equal(r.exitCode, 0, r.stderr);
      return r.stdout;
    };
    try {
      await cli('pause', database);
      assert.match(await cli('describe', database), /^schedule {3}\S+ \(paused: nightly, for finance\)$/m);
      await cli('unpause', database);
      assert.match(await cli('describe', database), /^schedule {3}\S+ \(active: nightly, for finance\)$/m);
      await cli('update', database, '--note', 'paused until the migration ends');
      await cli('pause', database);
      assert.match(await cli('describe', database), /^schedule {3}\S+ \(paused: paused until the migration ends\)$/m, 'update --note sets it');
    } finally {
      await handle.delete();
    }
  });

  it('a trigger while the previous run is still going is skipped (overlap SKIP)', async () => {
    const lock = await holdTableLock(config, locked); // the first run's pg_dump waits
    await withWorker(env, config, async () => {
      const handle = await createSchedule(env.client, config, { database: locked }, { every: '24h' });
      const first = await triggerNow(handle);
      assert.ok('started' in first, JSON.stringify(first));
      await waitFor('the first run to start', async () => (await handle.describe()).info.runningActions.length === 1);
      // Said as skipped, naming the run that made it skip: never "triggered" for a run that does not start.
      const second = await execa(`${ROOT}/bin/pgkeeper`, ['schedule', 'trigger', locked], { reject: false, env: { TEMPORAL_ADDRESS: env.address, TASK_QUEUE: config.temporal.taskQueue } });
      assert.equal(
        second.stdout,
        `not triggered: ${first.started} of ${handle.scheduleId} is still running, and a schedule runs one at a time (overlap SKIP); trigger again once it ends`,
        second.stderr,
      );
      assert.equal((await handle.describe()).info.numActionsSkippedOverlap, 1);
      assert.equal((await handle.describe()).info.runningActions.length, 1);

      await lock.end(); // the first run can now finish
      await waitFor('the first run to finish', async () => (await handle.describe()).info.runningActions.length === 0, 60_000);
      assert.equal(await backupsOf(locked), 1, 'exactly one backup: the skipped trigger did nothing');
      await scheduleHandle(env.client, config, { database: locked }).delete();
    });
  });

  it('--verify-stores schedules pgkeeper verify, of one database\'s backups or of every one; backup settings and --drill beside it are refused; list and trigger find it', async () => {
    const db = uniqueName('pgk_sched_verify');
    const dropped = uniqueName('pgk_sched_dropped'); // backups in the store, no database on the server
    const fresh = uniqueName('pgk_sched_fresh'); // on the server, no backup yet
    await writeFakeBackup(store, db, 1);
    const cli = (...args: string[]) => execa(`${ROOT}/bin/pgkeeper`, args, { reject: false, env: { TEMPORAL_ADDRESS: env.address, TASK_QUEUE: config.temporal.taskQueue } });
    const queue = config.temporal.taskQueue;
    for (const [args, refused] of [
      [['--verify-stores'], /^pgkeeper: --verify-stores: give the database whose backups to read back, or --all for every backup in every store$/],
      [[db, '--verify-stores', '--drill'], /^pgkeeper: give --drill \(restore drills\) or --verify-stores \(reading the stores back\), not both$/],
      [[db, '--verify-stores', '--retention', 'keepLast=3', '--compression', 'none'], /^pgkeeper: --retention, --compression: a --verify-stores schedule reads backups back and makes none; set them on the backup schedule$/],
    ] as const) {
      const result = await cli('schedule', 'create', ...args);
      assert.equal(result.exitCode, 1, result.stderr);
      assert.match(result.stderr.trim(), refused);
    }
    assert.equal((await cli('schedule', 'list')).stdout.includes('pgkeeper-verify'), false, 'nothing was created');

    const one = await cli('schedule', 'create', db, '--verify-stores');
    assert.match(one.stdout, new RegExp(`^created schedule pgkeeper-verify:${queue}:${db}; next run \\S+T05:00:00.000Z$`, 'm'), one.stderr);
    assert.equal(new Date(one.stdout.match(/next run (\S+)/)![1]!).getUTCDay(), 6, 'Saturdays by default');
    const again = await cli('schedule', 'create', db, '--verify-stores'); // said at once, the worker not asked
    assert.deepEqual([again.exitCode, again.stderr.trim()], [1, `pgkeeper: schedule pgkeeper-verify:${queue}:${db} already exists; change it with \`pgkeeper schedule update\``]);
    const all = await cli('schedule', 'create', '--all', '--verify-stores');
    assert.match(all.stdout, new RegExp(`^created schedule pgkeeper-verify:${queue}; next run `, 'm'), all.stderr);
    try {
      assert.match((await cli('schedule', 'describe', db, '--verify-stores')).stdout, new RegExp(`^input      \\{"database":"${db}"\\}$`, 'm'));
      assert.match((await cli('schedule', 'describe', '--all', '--verify-stores')).stdout, /^input      \{\}$/m);
      await waitFor('both to be listed', async () => {
        const listed = (await cli('schedule', 'list')).stdout;
        return listed.includes(`pgkeeper-verify:${queue}:${db} `) && new RegExp(`^pgkeeper-verify:${queue} `, 'm').test(listed);
      });
      await withWorker(env, config, async () => {
        const triggered = await cli('schedule', 'trigger', db, '--verify-stores');
        assert.match(triggered.stdout, new RegExp(`^triggered pgkeeper-verify:${queue}:${db}: started pgkeeper-scheduled-verify:${queue}:${db}-\\S+$`), triggered.stderr);
        await waitFor('the verify run the trigger started to complete', async () => /^\S+ \S+\s+verify\s+\S+\s+schedule\s+completed/m.test((await cli('history', db)).stdout), 60_000);
        const status = await cli('status', db);
        assert.match(status.stdout, new RegExp(`^${db}\\s.*\\bno schedule\\b`, 'm'), `a verify schedule is not a backup schedule: ${status.stderr}`);
        // A name neither on the server nor in any store is a typo: refused, nothing made. One with
        // backups but no database (dropped since) is taken without a word.
        const typo = await cli('schedule', 'create', `${db}x`, '--verify-stores');
        assert.equal(typo.exitCode, 1, typo.stderr);
        assert.match(typo.stderr.trim(), new RegExp(`^pgkeeper: no store holds a backup of "${db}x" \\(\`pgkeeper backups\` lists what they hold\\), and database "${db}x" does not exist on \\S+ \\(databases there: .*\\); check the name; nothing was created$`));
        assert.equal((await cli('schedule', 'list')).stdout.includes(`${db}x`), false);
        await writeFakeBackup(store, dropped, 2);
        for (const kind of ['--verify-stores', '--drill']) {
          const kept = await cli('schedule', 'create', dropped, kind);
          assert.deepEqual([kept.exitCode, kept.stderr], [0, ''], kind);
          const refused = await cli('schedule', 'create', `${db}x`, kind);
          assert.match(refused.stderr.trim(), new RegExp(`^pgkeeper: no store holds a backup of "${db}x" .*; check the name; nothing was created$`), kind);
        }
        // A database on the server with no backup yet: made (a backup may come first), and said.
        await seedDatabase(config, fresh);
        const noted = await cli('schedule', 'create', fresh, '--drill');
        assert.equal(noted.exitCode, 0, noted.stderr);
        assert.equal(noted.stderr.trim(), `note: no store holds a backup of "${fresh}" yet: its scheduled drill fails until one is made (\`pgkeeper backup ${fresh}\`, or a backup schedule: \`pgkeeper schedule create ${fresh}\`)`);
      });
    } finally {
      await cli('schedule', 'delete', db, '--verify-stores');
      await cli('schedule', 'delete', '--all', '--verify-stores');
      await cli('schedule', 'delete', dropped, '--verify-stores');
      await cli('schedule', 'delete', dropped, '--drill');
      await cli('schedule', 'delete', fresh, '--drill');
      await dropDatabase(config, fresh);
    }
  });

  it('a queue whose name holds ":" does not reach another queue\'s schedule of the same id: describe and delete say there is none, and leave it', async () => {
    const base = config.temporal.taskQueue;
    const [prod, prodEu] = [`${base}-p`, `${base}-p:eu`];
    const cli = (queue: string, ...args: string[]) => execa(`${ROOT}/bin/pgkeeper`, args, { reject: false, env: { TEMPORAL_ADDRESS: env.address, TASK_QUEUE: queue } });
    const made = await cli(prodEu, 'schedule', 'create', '--all', '--verify-stores');
    assert.match(made.stdout, new RegExp(`^created schedule pgkeeper-verify:${base}-p:eu; `), made.stderr);
    try {
      // "prod"'s verify schedule of database "eu" would have that id.
      for (const command of ['describe', 'delete', 'pause']) {
        const reached = await cli(prod, 'schedule', command, 'eu', '--verify-stores');
        assert.equal(reached.exitCode, 1, reached.stdout);
        assert.match(reached.stderr.trim(), new RegExp(`^pgkeeper: schedule pgkeeper-verify:${base}-p:eu does not exist on task queue "${base}-p"; `));
      }
      const own = await cli(prodEu, 'schedule', 'describe', '--all', '--verify-stores');
      assert.match(own.stdout, /\(active: pgkeeper verify \(every archive read back\) of every backup\)/, own.stderr);
    } finally {
      await cli(prodEu, 'schedule', 'delete', '--all', '--verify-stores');
    }
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
