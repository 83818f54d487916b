/**
 * bin/pgkeeper as a user runs it, with nothing but Temporal's address and a task queue: the store
 * and PostgreSQL belong to the worker. Round trips, listings and status asked of the worker,
 * damaged backups shown and refused, and every expected error said in one line that names the
 * CLI's flags, without a stack trace, with the documented exit code.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { after, before, describe, it } from 'node:test';
import { execa, type Result } from 'execa';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import { openStore } from '../activities/store/open-stores.js';
import { backupKeys, GLOBALS_FOLDER } from '../common/backup-keys.js';
import type { BackupListing } from '../common/types.js';
import { shellWord } from '../common/shell-word.js';
import { testConfig, uniqueName, workerEnvironment } from './helpers/config.js';
import { writeFakeBackup, writeFakeGlobals } from './helpers/fake-backups.js';
import { adminClient, dropDatabase, seedDatabase, tableFingerprints } from './helpers/postgres.js';
import { startDevServer, withWorker } from './helpers/temporal.js';
import { requireWorker } from '../client/worker-workflow.js';
import { waitFor } from './helpers/processes.js';
import { freePort } from './helpers/ports.js';
import { runWorkerUntilExit, startWorkerWithEnv } from './helpers/worker-with-env.js';

const ROOT = fileURLToPath(new URL('..', import.meta.url));

/**
 * An expected error: exactly one line on stderr besides --wait's progress lines ("hh:mm:ss phase"),
 * and no stack trace.
 */
function oneLineError(result: Result, exitCode = 1): string {
  const stderr = String(result.stderr).trim();
  assert.equal(result.exitCode, exitCode, `exit code; stderr: ${stderr}`);
  assert.doesNotMatch(stderr, /^\s+at /m, 'no stack trace');
  const lines = stderr.split('\n').filter((line) => !/^\d\d:\d\d:\d\d [a-z]/.test(line));
  assert.equal(lines.length, 1, `one line: ${stderr}`);
  return lines[0]!;
}

describe('pgkeeper CLI', () => {
  let env: TestWorkflowEnvironment;
  const config = testConfig();
  const store = openStore(config.stores.primary);
  const queue = config.temporal.taskQueue;
  const database = uniqueName('pgk_cli');
  const restored = uniqueName('pgk_cli_copy');

  /**
   * Runs bin/pgkeeper against this file's dev server with only PATH, HOME, TEMPORAL_ADDRESS and
   * TASK_QUEUE: no database or store settings, so nothing can work unless it goes through the worker.
   */
  const pgkeeper = (args: string[], vars: Record<string, string> = {}) =>
    execa(`${ROOT}/bin/pgkeeper`, args, {
      reject: false,
      extendEnv: false,
      env: { PATH: process.env.PATH!, HOME: process.env.HOME!, TEMPORAL_ADDRESS: env.address, TASK_QUEUE: queue, ...vars },
    });

  before(async () => {
    env = await startDevServer();
    await seedDatabase(config, database);
  });
  after(async () => {
    await dropDatabase(config, database);
    await dropDatabase(config, restored);
    await env?.teardown();
  });

  it('backup --wait, backups, restore --wait: a whole round trip from the command line, which has no access to the store', async () => {
    await withWorker(env, config, async () => {
      const backup = await pgkeeper(['backup', database, '--wait']);
      assert.equal(backup.exitCode, 0, backup.stderr);
      assert.match(backup.stdout, new RegExp(`workflow  pgkeeper:${queue}:${database}`));
      assert.match(backup.stdout, /ui        http:\/\/127\.0\.0\.1:8233\/namespaces\/default\/workflows\//);
      const id = /backup (\S+) completed/.exec(backup.stdout)?.[1];
      assert.ok(id, backup.stdout);
      assert.match(backup.stderr, /^\d\d:\d\d:\d\d (waiting for database|dumping|verifying)/m, 'plain progress lines when not a terminal');

      const list = await pgkeeper(['backups', database]);
      assert.equal(list.exitCode, 0, list.stderr);
      assert.match(list.stdout, new RegExp(`^${id}\\s+${database}\\s+ok\\s+\\d`, 'm'));
      assert.match(list.stdout, new RegExp(`^stores: ${store.url} \\(primary\\)$`, 'm'));

      const status = await pgkeeper(['status', database]);
      assert.equal(status.exitCode, 0, status.stdout + status.stderr);
      assert.match(status.stdout, new RegExp(`^${database}\\s.*completed\\s.*${id}\\s`, 'm'));

      const restore = await pgkeeper(['restore', 'latest', '--database', database, '--target', restored, '--wait']);
      assert.equal(restore.exitCode, 0, restore.stderr);
      assert.match(restore.stdout, new RegExp(`restored ${id} \\(of "${database}"\\) into "${restored}"`));
      assert.deepEqual(await tableFingerprints(config, restored), await tableFingerprints(config, database));
    });
  });

  it('backups, status and every command that starts a run, without a worker on the queue: fail within seconds, in one line naming the queue, nothing started; --queue picks the queue', async () => {
    const idle = `${queue}-idle`; // never polled by any worker
    for (const command of [['backups'], ['status', database], ['backup', database, '--wait'], ['restore', 'latest', '--database', database, '--target', restored], ['drill', database], ['prune', database]]) {
      const result = await pgkeeper([...command, '--queue', idle]);
      assert.equal(result.stdout, '', `${command[0]}: nothing was started`);
      const line = oneLineError(result);
      assert.equal(line, `pgkeeper: no pgkeeper worker polls task queue "${idle}" on ${env.address}: start one (\`pgkeeper worker\`, or \`npm run up\`), or pick the queue with --queue / TASK_QUEUE`);
    }
    // TASK_QUEUE names the idle queue; --queue, wherever it is typed, names the worker's.
    await withWorker(env, config, async () => {
      for (const args of [['--queue', queue, 'backups', database], ['backups', database, '--queue', queue]]) {
        const listed = await pgkeeper(args, { TASK_QUEUE: idle });
        // The worker answered (the idle queue has none): its listing of the stores, whatever they hold.
        assert.equal(listed.exitCode, 0, listed.stderr);
        assert.match(listed.stdout, /^stores: /m);
      }
    });
    // An empty --queue (an unset shell variable) is refused, not taken as TASK_QUEUE's or the default queue (another server's).
    for (const args of [['backups', '--queue', ''], ['worker', '--queue', ' ']]) {
      const empty = await pgkeeper(args, { TASK_QUEUE: queue });
      assert.deepEqual([empty.exitCode, oneLineError(empty, 2)], [2, 'pgkeeper: --queue is empty (an unset shell variable?): give the task queue of the worker for the PostgreSQL server meant, or leave --queue out (TASK_QUEUE, else pgkeeper)'], args.join(' '));
    }
    // A worker on the default queue (this test's own Temporal): the line says so.
    await withWorker(env, { ...config, temporal: { ...config.temporal, taskQueue: 'pgkeeper' } }, async () => {
      const line = oneLineError(await pgkeeper(['backups', '--queue', idle]));
      assert.match(line, new RegExp(`^pgkeeper: no pgkeeper worker polls task queue "${idle}" on ${env.address} \\(one polls "pgkeeper": is that the queue you meant\\?\\): start one`));
    });
  });

  it('backups while the only worker listed is frozen (Temporal lists it as polling): a line says no worker has taken the question up; a worker that starts then answers it', async () => {
    const own = testConfig(); // a queue of its own
    const frozen = await startWorkerWithEnv({ ...workerEnvironment(own), TEMPORAL_ADDRESS: env.address, LOG_LEVEL: 'info' });
    await requireWorker(env.client, own, 30_000); // it polls
    frozen.signal('SIGSTOP'); // as a worker whose host froze or lost the network: its polls stay open
    try {
      const asking = pgkeeper(['backups'], { TASK_QUEUE: own.temporal.taskQueue });
      let stderr = '';
      asking.stderr!.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
      await waitFor('the waiting line', () => stderr.includes('waiting for a worker'), 30_000).catch((err: unknown) => assert.fail(`${String(err)}; stderr: ${stderr}`));
      assert.equal(stderr, `waiting for a worker on task queue "${own.temporal.taskQueue}": none has taken this up in 10 s (Temporal lists one: it may have stopped or lost its connection a moment ago); giving up at 30 s unless one does\n`);
      // Its open polls, each handed a task it would keep until that times out, die with it.
      await frozen.stop('SIGKILL');
      const answered = await withWorker(env, own, () => asking);
      assert.equal(answered.exitCode, 0, answered.stderr);
      assert.match(answered.stdout, /^no backups in file:\/\//m);
    } finally {
      await frozen.stop('SIGKILL');
    }
  });

  it('backups and status when the only worker listed was killed: given up after 30 s (not the whole 2 min), in one line naming the queue, the question not left behind', async () => {
    const own = testConfig();
    const queue = own.temporal.taskQueue;
    const killed = await startWorkerWithEnv({ ...workerEnvironment(own), TEMPORAL_ADDRESS: env.address, LOG_LEVEL: 'info' });
    await requireWorker(env.client, own, 30_000);
    await killed.stop('SIGKILL'); // Temporal goes on listing it as polling for minutes
    const [listed, status] = await Promise.all([pgkeeper(['backups'], { TASK_QUEUE: queue }), pgkeeper(['status'], { TASK_QUEUE: queue })]);
    for (const run of [listed, status]) {
      assert.equal(run.exitCode, 1, `${run.stdout}${run.stderr}`);
      const lines = String(run.stderr).trim().split('\n');
      assert.equal(lines.length, 2, run.stderr);
      assert.match(lines[0]!, /^waiting for a worker on task queue .*giving up at 30 s unless one does$/);
      assert.equal(lines[1], `pgkeeper: no pgkeeper worker took this up within 30 s on task queue "${queue}", though Temporal lists one polling it (a worker that stopped, froze or lost its connection stays listed for minutes): start one (\`pgkeeper worker\`, or \`npm run up\`), or pick the queue with --queue / TASK_QUEUE`);
    }
    // The questions were terminated, so a worker that comes back has nothing stale to answer.
    const stillOpen = async () => {
      const open: string[] = [];
      for await (const run of env.client.workflow.list({ query: `ExecutionStatus = 'Running'` })) if (run.workflowId.startsWith(`pgkeeper-ask:${queue}:`)) open.push(run.workflowId);
      return open;
    };
    await waitFor('the questions to be terminated', async () => (await stillOpen()).length === 0).catch(async (err: unknown) => assert.fail(`${String(err)}: ${(await stillOpen()).join(', ')}`));
  });

  it('damaged backups: backups and status show DAMAGED with the reason; restore latest refuses with the command that restores the newest intact one', async () => {
    const db = uniqueName('pgk_cli_dmg');
    const intact = await writeFakeBackup(store, db, 2);
    const damaged = await writeFakeBackup(store, db, 1);
    await store.put(backupKeys(db, damaged.id, []).manifest, '{"manifestVersion": 2, "id": garbage'); // as a bad disk or a cut copy would leave it
    const reason = /manifest unreadable: not valid JSON/;
    await withWorker(env, config, async () => {
      const list = await pgkeeper(['backups', db]);
      assert.equal(list.exitCode, 3, 'a damaged backup needs attention, as in status');
      assert.match(list.stdout, new RegExp(`^${damaged.id}\\s+${db}\\s+DAMAGED\\s`, 'm'));
      assert.match(list.stdout, new RegExp(`^${intact.id}\\s+${db}\\s+ok\\s`, 'm'));
      assert.match(list.stdout, new RegExp(`^DAMAGED ${damaged.id} in ${store.url}: ${reason.source}`, 'm'));

      const status = await pgkeeper(['status', db]);
      assert.equal(status.exitCode, 3, 'status exits 3 when a backup is damaged');
      assert.match(status.stdout, new RegExp(`^${db}\\s.*${intact.id}\\s.*DAMAGED$`, 'm'));
      assert.match(status.stdout, new RegExp(`^DAMAGED ${damaged.id}: ${reason.source}`, 'm'));

      // Retention does not count it, nor delete it while the policy would keep it, and says so in its place.
      const plan = await pgkeeper(['prune', db, '--dry-run']);
      assert.equal(plan.exitCode, 0, plan.stderr);
      assert.match(plan.stdout, new RegExp(`^${damaged.id}\\s+\\S+ \\S+\\s+DAMAGED\\s+${reason.source}.*; not counted, and left for a person: copy its archive back`, 'm'));
      assert.match(plan.stdout, new RegExp(`^${intact.id}\\s+\\S+ \\S+\\s+keep\\s`, 'm'));
      assert.ok(plan.stdout.indexOf(damaged.id) < plan.stdout.indexOf(intact.id), 'newest first');
      const pruned = await pgkeeper(['prune', db]);
      assert.equal(pruned.exitCode, 0, pruned.stderr);
      assert.match(pruned.stdout, /^deleted 0, kept 1, 1 DAMAGED left alone$/m);

      const target = uniqueName('pgk_cli_never');
      const line = oneLineError(await pgkeeper(['restore', 'latest', '--database', db, '--target', target, '--wait']));
      assert.match(line, new RegExp(`^pgkeeper: restore into "${target}" failed: the newest backup of "${db}", ${damaged.id}, is DAMAGED \\(${reason.source}`));
      assert.ok(line.endsWith(`the newest complete one is ${intact.id} (manifest and sizes check out; its checksum is verified as it restores): restore it with \`pgkeeper restore ${intact.id} --target ${target} --queue ${shellWord(queue)}\``), line);
    });
  });

  it('a backup written by a newer pgkeeper: said so, not DAMAGED, and restore latest says to upgrade before it offers older data', async () => {
    const db = uniqueName('pgk_cli_v4');
    const older = await writeFakeBackup(store, db, 2);
    const newer = await writeFakeBackup(store, db, 1);
    await store.put(backupKeys(db, newer.id, []).manifest, JSON.stringify({ ...newer, manifestVersion: 4 }));
    const reason = 'written by a newer pgkeeper (manifestVersion 4; this one reads up to 3): upgrade pgkeeper on the worker to read it';
    const literally = (text: string) => text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
    await withWorker(env, config, async () => {
      const list = await pgkeeper(['backups', db]);
      assert.equal(list.exitCode, 3, 'it needs someone to act: upgrade');
      assert.match(list.stdout, new RegExp(`^${newer.id}\\s+${db}\\s+NEEDS NEWER PGKEEPER\\s.*primary \\(NEEDS NEWER PGKEEPER\\)$`, 'm'));
      assert.match(list.stdout, new RegExp(`^NEEDS NEWER PGKEEPER ${newer.id} in ${literally(store.url)}: ${literally(reason)}$`, 'm'));
      assert.doesNotMatch(list.stdout, /DAMAGED/);
      const status = await pgkeeper(['status', db]);
      assert.match(status.stdout, new RegExp(`^${db}\\s.*NEEDS NEWER PGKEEPER$`, 'm'));
      const target = uniqueName('pgk_cli_v4_to');
      const line = oneLineError(await pgkeeper(['restore', 'latest', '--database', db, '--target', target, '--wait']));
      assert.equal(
        line,
        `pgkeeper: restore into "${target}" failed: the newest backup of "${db}", ${newer.id}, was ${reason}; or restore the newest backup this pgkeeper reads, ${older.id} (older data): \`pgkeeper restore ${older.id} --target ${target} --queue ${shellWord(queue)}\``,
      );
      const byId = oneLineError(await pgkeeper(['restore', newer.id, '--target', target, '--wait']));
      assert.equal(byId, `pgkeeper: restore into "${target}" failed: backup ${newer.id} was ${reason}`);
    });
  });

  it('a run cancelled while the CLI waits for it: says it was cancelled, not that it failed', async () => {
    const db = uniqueName('pgk_cli_cancel');
    await seedDatabase(config, db);
    // A lock pg_dump waits for keeps the backup running until it is cancelled.
    const locker = adminClient(config, db);
    await locker.connect();
    try {
      await locker.query('begin; lock table public.customers in access exclusive mode');
      await withWorker(env, config, async () => {
        const waiting = pgkeeper(['backup', db, '--wait']);
        const handle = env.client.workflow.getHandle(`pgkeeper:${queue}:${db}`);
        await waitFor('the dump to start', async () => (await handle.describe().catch(() => undefined))?.raw.pendingActivities?.some((a) => a.activityType?.name === 'dumpDatabase'), 60_000);
        await handle.cancel();
        assert.equal(oneLineError(await waiting), `pgkeeper: backup of "${db}" was cancelled: someone cancelled the run (in the Temporal UI, say)`);
      });
    } finally {
      await locker.end();
      await dropDatabase(config, db);
    }
  });

  it('backups lists the globals backups (roles, tablespaces) after the databases, with their ids for --globals; not when one database is asked for', async () => {
    const own = testConfig(); // a store of its own: no other test's damaged backup in the listing
    const ownStore = openStore(own.stores.primary);
    const vars = { TASK_QUEUE: own.temporal.taskQueue };
    await writeFakeBackup(ownStore, database, 1);
    const id = await writeFakeGlobals(ownStore, 3);
    await withWorker(env, own, async () => {
      const list = await pgkeeper(['backups'], vars);
      assert.equal(list.exitCode, 0, list.stderr);
      assert.match(list.stdout, /^roles and tablespaces .*restore --globals <id>/m);
      assert.match(list.stdout, new RegExp(`^GLOBALS ID\\s+STATUS\\s+SIZE\\s+CREATED \\(UTC\\)\\s+ROLES\\s+STORES\\n(.*\\n)*${id}\\s+ok\\s+\\d+ B\\s+\\S+ \\S+\\s+1\\s+primary$`, 'm'));
      const json = JSON.parse((await pgkeeper(['backups', '--json'], vars)).stdout) as BackupListing;
      assert.deepEqual(
        json.globals.filter((g) => g.id === id).map((g) => [g.status, g.roles, g.encrypted, g.locations.map((l) => l.store)]),
        [['complete', 1, false, [ownStore.url]]],
      );
      const one = await pgkeeper(['backups', database], vars);
      assert.equal(one.exitCode, 0, one.stderr);
      assert.match(one.stdout, new RegExp(`^\\S+\\s+${database}\\s+ok\\s`, 'm'));
      assert.match(one.stdout, /^stores: /m);
      assert.doesNotMatch(one.stdout, /GLOBALS|roles and tablespaces/);
    });
  });

  it('status without a database counts the globals backups: a damaged newest one is DAMAGED and exits 3', async () => {
    const own = testConfig(); // a store of its own: nothing else in it needs attention
    const ownStore = openStore(own.stores.primary);
    const db = uniqueName('pgk_cli_globals');
    await writeFakeBackup(ownStore, db, 1);
    const intact = await writeFakeGlobals(ownStore, 3);
    const status = () => pgkeeper(['status'], { TASK_QUEUE: own.temporal.taskQueue });
    await withWorker(env, own, async () => {
      const healthy = await status();
      assert.equal(healthy.exitCode, 0, healthy.stdout + healthy.stderr);
      assert.match(healthy.stdout, new RegExp(`^\\(globals\\)\\s+-\\s+\\S+ \\S+ ${intact}\\s+-\\s+no schedule\\s+-$`, 'm'));

      const damaged = await writeFakeGlobals(ownStore, 1);
      await ownStore.put(backupKeys(GLOBALS_FOLDER, damaged, []).manifest, '{"manifestVersion": 2, "id": garbage');
      const broken = await status();
      assert.equal(broken.exitCode, 3, 'a damaged globals backup needs attention');
      assert.match(broken.stdout, new RegExp(`^\\(globals\\)\\s.*${intact}\\s.*DAMAGED$`, 'm'));
      assert.match(broken.stdout, new RegExp(`^DAMAGED ${damaged}: manifest unreadable`, 'm'));
      const json = JSON.parse((await pgkeeper(['status', '--json'], { TASK_QUEUE: own.temporal.taskQueue })).stdout) as { kind: string; database: string | null; damaged: { backupId: string }[] }[];
      assert.deepEqual(
        json.map((s) => [s.kind, s.database, s.damaged.map((d) => d.backupId)]),
        [['database', db, []], ['globals', null, [damaged]]],
      );
      const one = await pgkeeper(['status', db], { TASK_QUEUE: own.temporal.taskQueue });
      assert.equal(one.exitCode, 0, 'status of one database leaves the globals out');
      assert.doesNotMatch(one.stdout, /\(globals\)/);

      // The --all schedule promises both the database's backups (it has none of its own) and the
      // globals, and backs up every database on the server: one it never has (here, `database`,
      // with no backup in this store) shows and needs attention; templates are never backed up.
      assert.equal((await pgkeeper(['schedule', 'create', '--all', '--every', '6h'], { TASK_QUEUE: own.temporal.taskQueue })).exitCode, 0);
      try {
        const covering = await pgkeeper(['status', '--json'], { TASK_QUEUE: own.temporal.taskQueue });
        const scheduled = JSON.parse(covering.stdout) as { kind: string; database: string | null; lastSuccessfulBackup: unknown; schedule: { id: string; intervalMs: number } | null }[];
        const of = (name: string | null) => scheduled.find((s) => s.database === name);
        for (const name of [database, null]) assert.deepEqual([of(name)?.schedule?.id, of(name)?.schedule?.intervalMs], [`pgkeeper-cluster:${own.temporal.taskQueue}`, 6 * 3_600_000], String(name));
        assert.equal(of(database)?.lastSuccessfulBackup, null);
        assert.equal(of(db)?.schedule, null, 'a database no longer on the server is not credited with the runs that will not back it up');
        assert.equal(of('template1'), undefined, 'templates are never backed up');
        const text = await pgkeeper(['status'], { TASK_QUEUE: own.temporal.taskQueue });
        assert.match(text.stdout, new RegExp(`^${database}\\s+-\\s+never\\s+never\\s+\\S+ \\S+\\s+NEVER BACKED UP$`, 'm'));
        assert.equal(text.stderr, '');

        // Patterns set in the UI: a database they leave out is neither listed for the schedule nor
        // credited with its runs; a CLI update of the retention keeps them.
        const allSchedule = env.client.schedule.getHandle(`pgkeeper-cluster:${own.temporal.taskQueue}`);
        await allSchedule.update((previous) => ({ ...previous, action: { ...previous.action, args: [{ exclude: [database] }] } }) as typeof previous);
        assert.equal((await pgkeeper(['schedule', 'update', '--all', '--retention', 'keepLast=3'], { TASK_QUEUE: own.temporal.taskQueue })).exitCode, 0);
        assert.deepEqual((await allSchedule.describe()).action.args, [{ exclude: [database], retention: { keepLast: 3 } }]);
        assert.doesNotMatch((await pgkeeper(['status'], { TASK_QUEUE: own.temporal.taskQueue })).stdout, new RegExp(`^${database}\\s`, 'm'));
        const fake = backupKeys(database, (await writeFakeBackup(ownStore, database, 1)).id, []);
        assert.match((await pgkeeper(['status'], { TASK_QUEUE: own.temporal.taskQueue })).stdout, new RegExp(`^${database}\\s.*\\sno schedule\\s`, 'm'), 'excluded: not credited');
        for (const key of [fake.manifest, fake.archive, fake.sidecar]) await ownStore.delete(key);
        // Its runs come at fixed intervals: a time zone would change nothing.
        assert.match(oneLineError(await pgkeeper(['schedule', 'update', '--all', '--timezone', 'Europe/Amsterdam'], { TASK_QUEUE: own.temporal.taskQueue })), /^pgkeeper: --timezone applies to --cron only, and this schedule runs at fixed intervals/);
      } finally {
        await pgkeeper(['schedule', 'delete', '--all'], { TASK_QUEUE: own.temporal.taskQueue });
      }

      // A database a schedule backs up that has no backup yet (every run failing, say) still shows, and needs attention.
      assert.equal((await pgkeeper(['schedule', 'create', database], { TASK_QUEUE: own.temporal.taskQueue })).exitCode, 0);
      try {
        const promised = await status();
        assert.equal(promised.exitCode, 3, promised.stdout);
        assert.match(promised.stdout, new RegExp(`^${database}\\s+-\\s+never\\s+never\\s+\\S+ \\S+\\s+NEVER BACKED UP$`, 'm'));
      } finally {
        await pgkeeper(['schedule', 'delete', database], { TASK_QUEUE: own.temporal.taskQueue });
      }
    });
  });

  it('status says when the databases the --all schedule backs up could not be listed, and still shows the rest', async () => {
    const own = testConfig();
    const db = uniqueName('pgk_cli_unlisted');
    await writeFakeBackup(openStore(own.stores.primary), db, 0);
    const vars = { TASK_QUEUE: own.temporal.taskQueue };
    assert.equal((await pgkeeper(['schedule', 'create', '--all'], vars)).exitCode, 0);
    try {
      // The worker's PostgreSQL refuses connections: the stores still answer.
      const status = await withWorker(env, { ...own, db: { ...own.db, port: 1 } }, () => pgkeeper(['status'], vars));
      assert.match(status.stdout, new RegExp(`^${db}\\s`, 'm'));
      assert.match(status.stderr, /^note: the databases the --all schedule backs up were not listed \(the worker could not list its server's databases: .+\): one it has never backed up is not shown$/m);
      // Patterns that are not valid (edited in the UI): said, naming where to fix them.
      const allSchedule = env.client.schedule.getHandle(`pgkeeper-cluster:${own.temporal.taskQueue}`);
      await allSchedule.update((previous) => ({ ...previous, action: { ...previous.action, args: [{ include: 'app' }] } }) as typeof previous);
      const invalid = await withWorker(env, own, () => pgkeeper(['status'], vars));
      assert.match(invalid.stdout, new RegExp(`^${db}\\s`, 'm'));
      const fix = `fix its input in the Temporal UI, under Schedules, pgkeeper-cluster:${own.temporal.taskQueue}`;
      assert.match(invalid.stderr, new RegExp(`^note: every run of the --all schedule is refused \\(include must be a list of database names or \\* patterns, .*\\): no database is backed up by it; ${fix}$`, 'm'));
      // Two inputs: every run is refused too (a trailing null is no input).
      await allSchedule.update((previous) => ({ ...previous, action: { ...previous.action, args: [{}, { exclude: ['x'] }, null] } }) as typeof previous);
      const twice = await withWorker(env, own, () => pgkeeper(['status'], vars));
      assert.match(twice.stderr, new RegExp(`^note: every run of the --all schedule is refused \\(it has 3 inputs, and a run takes one\\): no database is backed up by it; ${fix}$`, 'm'));
      // Updating it would keep the first input's fields and lose the others': refused, nothing changed.
      assert.match(oneLineError(await pgkeeper(['schedule', 'update', '--all', '--retention', 'keepLast=2'], vars)), /^pgkeeper: pgkeeper-cluster:\S+ starts its runs with 3 inputs, and each run is refused for it; put their fields into the first in the Temporal UI, under Schedules, then update it$/);
      assert.deepEqual((await allSchedule.describe()).action.args, [{}, { exclude: ['x'] }, null]);
      assert.match((await pgkeeper(['schedule', 'describe', '--all'], vars)).stdout, /^input {6}\{\} \{"exclude":\["x"\]\} null \(3 inputs: each run is refused; put their fields into the first in the Temporal UI\)$/m);
      // Patterns that leave no database: every run fails.
      await allSchedule.update((previous) => ({ ...previous, action: { ...previous.action, args: [{ include: ['pgk_no_such_*'] }] } }) as typeof previous);
      const nothing = await withWorker(env, own, () => pgkeeper(['status'], vars));
      assert.match(nothing.stderr, new RegExp(`^note: the --all schedule's include and exclude leave none of the databases on .*: every run fails; ${fix}$`, 'm'));
    } finally {
      await pgkeeper(['schedule', 'delete', '--all'], vars);
    }
  });

  it('status needs attention (exit 3) for a damaged backup older than the newest good one, and for a failed last backup run', async () => {
    const own = testConfig(); // a store and queue of their own
    const ownStore = openStore(own.stores.primary);
    const status = (...args: string[]) => pgkeeper(['status', ...args], { TASK_QUEUE: own.temporal.taskQueue });
    const older = uniqueName('pgk_cli_older');
    const old = await writeFakeBackup(ownStore, older, 3);
    await writeFakeBackup(ownStore, older, 1);
    await withWorker(env, own, async () => {
      assert.equal((await status(older)).exitCode, 0, 'two good backups');
      await ownStore.put(backupKeys(older, old.id, []).manifest, '{"manifestVersion": 2, "id": garbage');
      const damaged = await status(older);
      assert.equal(damaged.exitCode, 3, 'an old damaged backup needs a person too');
      assert.match(damaged.stdout, new RegExp(`^DAMAGED ${old.id}: manifest unreadable`, 'm'));

      // Backed up once (here, by a fake), then a run that fails: the database is gone.
      const gone = uniqueName('pgk_cli_gone');
      await writeFakeBackup(ownStore, gone, 1);
      const run = await pgkeeper(['backup', gone, '--wait'], { TASK_QUEUE: own.temporal.taskQueue });
      assert.equal(run.exitCode, 1, run.stdout);
      const failed = await waitFor('visibility to index the failed run', async () => {
        const s = await status(gone);
        return /failed/.test(s.stdout) ? s : undefined;
      });
      assert.equal(failed.exitCode, 3, failed.stdout);
      assert.match(failed.stdout, new RegExp(`^${gone}\\s+\\S+ \\S+ failed\\s.*LAST RUN FAILED$`, 'm'));
    });
  });

  it('status of a database never backed up says so and exits 3', async () => {
    const never = uniqueName('pgk_cli_never');
    const status = await withWorker(env, config, () => pgkeeper(['status', never]));
    assert.equal(status.exitCode, 3, status.stderr);
    assert.match(status.stdout, new RegExp(`^"${never}" has never been backed up \\(no backup in ${store.url}, no backup run\\)(; backups there are of .*)?; start one with \`pgkeeper backup ${never}\`$`, 'm'));
    // One letter off a database the store holds backups of: the one meant is named.
    const typo = await withWorker(env, config, () => pgkeeper(['status', `${database}x`]));
    assert.match(typo.stdout, new RegExp(`has never been backed up \\(no backup in ${store.url}, no backup run\\); did you mean "${database}"\\? \\(backups there are of `));
  });

  it('failures exit non-zero with one line that names CLI flags, never JSON fields', async () => {
    await withWorker(env, config, async () => {
      const missing = oneLineError(await pgkeeper(['backup', 'pgk_no_such_db', '--wait']));
      assert.match(missing, /^pgkeeper: backup of "pgk_no_such_db" failed: database "pgk_no_such_db" does not exist/);

      // Refused before anything starts.
      const unconfirmed = await pgkeeper(['restore', 'latest', '--database', database, '--target', database, '--replace']);
      assert.equal(unconfirmed.stdout, '', 'nothing was started');
      assert.equal(oneLineError(unconfirmed), `pgkeeper: --replace replaces the existing database "${database}" (it is kept renamed): add --confirm ${database} to proceed`);

      // Refused by the worker: the target exists; what to type next is said in flags.
      const old = await writeFakeBackup(store, database, 30);
      const exists = oneLineError(await pgkeeper(['restore', old.id, '--target', database, '--wait']));
      // The fix said once, in flags: the worker's words for it (for the UI) are left out.
      assert.equal(exists, `pgkeeper: restore into "${database}" failed: database "${database}" already exists and the restore would create it (restore into another --target, or replace it: --replace --confirm ${database})`);
      const absent = uniqueName('pgk_cli_absent');
      const nothing = oneLineError(await pgkeeper(['restore', old.id, '--target', absent, '--replace', '--confirm', absent, '--wait']));
      assert.match(nothing, new RegExp(`^pgkeeper: restore into "${absent}" failed: database "${absent}" does not exist on \\S+, so there is nothing to replace and nothing was changed \\(to restore into a new database of that name, leave out --replace\\)$`));
      for (const line of [missing, exists, nothing]) assert.doesNotMatch(line, /"(mode|confirm|target|database)":/, 'no JSON field names');

      // A bad option value is commander's usage error: the flag named, and the line on where to look.
      const badLevel = await pgkeeper(['backup', database, '--compress-level', '11']);
      assert.equal(badLevel.exitCode, 1);
      assert.deepEqual(String(badLevel.stderr).trim().split('\n'), [
        "error: option '-z, --compress-level <0-9>' argument '11' is invalid. expected a whole number from 0 to 9",
        '(pgkeeper --help lists the commands; pgkeeper <command> --help their options)',
      ]);
    });
  });

  it('without --wait, a run the worker refuses in its first steps fails the command with the cause, not "started"', async () => {
    await withWorker(env, config, async () => {
      const missing = await pgkeeper(['backup', `${database}x`]);
      assert.equal(missing.stdout, '', 'not said to have started');
      assert.match(oneLineError(missing), new RegExp(`^pgkeeper: backup of "${database}x" failed: database "${database}x" does not exist on \\S+; did you mean "${database}"\\? \\(psql -l lists databases\\)$`));

      const old = await writeFakeBackup(store, database, 31);
      const exists = await pgkeeper(['restore', old.id, '--target', database]);
      assert.equal(exists.stdout, '');
      assert.match(oneLineError(exists), new RegExp(`^pgkeeper: restore into "${database}" failed: .*\\(restore into another --target, or replace it: --replace --confirm ${database}\\)$`));

      const drill = await pgkeeper(['drill', uniqueName('pgk_cli_none')]);
      assert.equal(drill.stdout, '');
      assert.match(oneLineError(drill), /^pgkeeper: restore drill of "pgk_cli_none\w*" FAILED: no backup/);

      const cluster = await pgkeeper(['backup', '--all', '--include', 'pgk_matches_none_*']);
      assert.equal(cluster.stdout, '');
      assert.match(oneLineError(cluster), /^pgkeeper: cluster backup failed: .*pgk_matches_none_\*/);

      const verify = await pgkeeper(['verify', database, '--store', 'nowhere']);
      assert.equal(verify.stdout, '');
      assert.match(oneLineError(verify), /^pgkeeper: verify FAILED: .*nowhere/);

      // A run past its checks is left to go on, with its link.
      const started = await pgkeeper(['backup', database]);
      assert.equal(started.exitCode, 0, started.stderr);
      const workflowId = /^started backup of "[^"]+"\n  workflow  (\S+)\n  ui        http/.exec(started.stdout)?.[1];
      assert.ok(workflowId, started.stdout);
      assert.equal((await env.client.workflow.getHandle(workflowId).result()).status, 'completed');
    });
    // A run still in its checks when the watch ends (its database server not answering yet) is left
    // to go on, said to be waiting.
    const down = { ...config, db: { ...config.db, port: await freePort() } };
    await withWorker(env, down, async () => {
      const waiting = await pgkeeper(['backup', database]);
      assert.equal(waiting.exitCode, 0, waiting.stderr);
      const workflowId = /^ {2}workflow {2}(\S+)$/m.exec(waiting.stdout)?.[1];
      assert.match(waiting.stdout, /^ {2}now {7}waiting for database \(it goes on: /m);
      await env.client.workflow.getHandle(workflowId!).terminate('test over');
      // Ctrl-C while watching stops the watching, not the run: said, with the run's name and link.
      const interrupted = pgkeeper(['backup', database]);
      await new Promise((resolve) => setTimeout(resolve, 3_000));
      interrupted.kill('SIGINT');
      const stopped = await interrupted;
      assert.equal(stopped.exitCode, 130, stopped.stderr);
      assert.match(stopped.stdout, new RegExp(`^started backup of "${database}"\\n  workflow  ${workflowId!.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}\\n`));
      assert.match(stopped.stderr, new RegExp(`pgkeeper: stopped waiting; workflow \\S+ goes on in Temporal`));
      await env.client.workflow.getHandle(workflowId!).terminate('test over');
    });
  });

  it('a namespace that does not exist: one line naming TEMPORAL_NAMESPACE and exit 2, from the CLI and from the worker', async () => {
    const namespace = uniqueName('pgk_no_ns');
    const expected = new RegExp(`namespace "${namespace}" does not exist on this Temporal server: set TEMPORAL_NAMESPACE to one that does`);
    for (const args of [['backups'], ['backup', database], ['schedule', 'list']]) {
      assert.match(oneLineError(await pgkeeper(args, { TEMPORAL_NAMESPACE: namespace }), 2), new RegExp(`^pgkeeper: ${expected.source}`), args.join(' '));
    }
    const worker = await runWorkerUntilExit({ ...workerEnvironment(config), TEMPORAL_ADDRESS: env.address, TEMPORAL_NAMESPACE: namespace });
    assert.equal(worker.exitCode, 2, worker.output);
    assert.match(worker.output, new RegExp(`^pgkeeper worker: ${expected.source}`, 'm'));
    assert.doesNotMatch(worker.output, /^\s+at /m, 'no stack trace');
  });

  it('a schedule that does not exist: one line for every schedule subcommand', async () => {
    const nothing = uniqueName('pgk_cli_unscheduled');
    const expected = `pgkeeper: schedule pgkeeper-backup:${queue}:${nothing} does not exist on task queue "${queue}"; \`pgkeeper schedule list\` shows the schedules, \`pgkeeper schedule create\` makes one`;
    for (const args of [
      ['describe', nothing],
      ['update', nothing, '--every', '1h'],
      ['pause', nothing],
      ['unpause', nothing],
      ['trigger', nothing],
      ['backfill', nothing, '--from', '2026-11-01T00:00:00Z', '--to', '2026-11-02T00:00:00Z'],
      ['delete', nothing],
    ]) {
      assert.equal(oneLineError(await pgkeeper(['schedule', ...args])), expected, args.join(' '));
      // A name no database can have: the name's own problem, one line, from every subcommand.
      const blank = [args[0]!, `${nothing} `, ...args.slice(2)];
      assert.equal(oneLineError(await pgkeeper(['schedule', ...blank])), `pgkeeper: database "${nothing} " starts or ends with white space; remove it`, blank.join(' '));
    }
    assert.equal(oneLineError(await pgkeeper(['schedule', 'update', nothing])), 'pgkeeper: nothing to change: give what to change (--cron, --every, --timezone, --jitter, --retention, --compression, --verify or --note)');
    // A backfill into the future would run at once, as if those times were past.
    const tomorrow = new Date(Date.now() + 86_400_000).toISOString();
    assert.match(oneLineError(await pgkeeper(['schedule', 'backfill', nothing, '--from', '2026-11-01T00:00:00Z', '--to', tomorrow])), /^pgkeeper: --to \S+ is in the future: a backfill takes runs the schedule missed; /);
  });

  it('a bad --cron, --every or --timezone: one line naming the flag and the form it takes, from create and from update', async () => {
    const scheduled = uniqueName('pgk_cli_sched');
    const cases: [string[], RegExp][] = [
      [['--cron', '0 25 * * *'], /^pgkeeper: --cron "0 25 \* \* \*": .*; give a cron expression such as "0 2 \* \* \*" \(minute hour day-of-month month day-of-week\)$/],
      [['--cron', 'bogus'], /^pgkeeper: --cron "bogus" has 1 field; give the five of cron: /],
      [['--cron', '*/0 * * * *'], /^pgkeeper: --cron "\*\/0 \* \* \* \*": .*; give a cron expression such as "0 2 \* \* \*" \(minute hour day-of-month month day-of-week\)$/],
      [['--every', '6x'], /^pgkeeper: --every "6x": .*'6x'.*; give a duration such as 30m, 6h or 1d$/],
      [['--every', '1s'], /^pgkeeper: --every 1s is shorter than a minute: each run would start before the last one ended; give 1m or more \(e\.g\. 6h\), or times with --cron$/],
      [['--timezone', 'Mars/Phobos'], /^pgkeeper: --timezone "Mars\/Phobos": .*; give an IANA time zone/],
      [['--cron', '0 3 * * *', '--every', '6h'], /^pgkeeper: give either --cron or --every, not both$/],
      [['--cron', 'CRON_TZ=Asia/Tokyo 0 2 * * *'], /^pgkeeper: --cron "CRON_TZ=Asia\/Tokyo 0 2 \* \* \*": conflicting timezone names; give the time zone with --timezone, not as CRON_TZ= in --cron$/],
      [['--timezone', ''], /^pgkeeper: --timezone is empty: give an IANA time zone such as Europe\/Amsterdam or UTC, or leave it out \(UTC\)$/],
      [['--timezone', 'Europe/Amsterdam '], /^pgkeeper: --timezone "Europe\/Amsterdam " has white space around it; give the zone alone, such as Europe\/Amsterdam$/],
      [['--timezone', 'Local'], /^pgkeeper: --timezone Local is the Temporal server host's own zone, whatever that is; give an IANA time zone/],
      [['--every', '6h', '--timezone', 'Europe/Amsterdam'], /^pgkeeper: --timezone applies to --cron only: --every 6h runs at fixed intervals, whatever the time zone; leave --timezone out, or give the times with --cron$/],
      // Temporal takes a seconds field, a year field and @every, each a way round --every's minute.
      [['--cron', '*/5 * * * * * *'], /^pgkeeper: --cron "\*\/5 \* \* \* \* \* \*" has 7 fields; give the five of cron: minute hour day-of-month month day-of-week \(e\.g\. "0 2 \* \* \*"\), with no seconds or years$/],
      [['--cron', '@every 5s'], /^pgkeeper: --cron "@every 5s": give a fixed interval with --every instead \(e\.g\. --every 6h\)$/],
      [['--jitter=-10m'], /^pgkeeper: --jitter -10m is negative: it is how much later, at most, a run may start at random; give e\.g\. 10m, or 0 for none$/],
      // --retention deletes backups: what it does not say exactly is refused.
      [['--retention', ''], /^pgkeeper: --retention is empty: a policy with no rule would keep only the newest backup; give rules, /],
      [['--retention', 'keepLast=3=9'], /^pgkeeper: --retention "keepLast=3=9" is not rule=whole number; write e\.g\. keepDaily=7,/],
      [['--retention', 'keepLast=1e2'], /^pgkeeper: --retention "keepLast=1e2" is not rule=whole number; /],
      [['--retention', 'keepLast=3,keepLast=99'], /^pgkeeper: --retention gives keepLast twice; give each rule once$/],
      [['--retention', 'keepLast=0,keepDaily=0'], /^pgkeeper: --retention "keepLast=0,keepDaily=0": every rule is 0, which would keep only the newest backup and delete the rest; give a rule above 0, /],
    ];
    for (const [flags, expected] of cases) assert.match(oneLineError(await pgkeeper(['schedule', 'create', scheduled, ...flags])), expected, `create ${flags.join(' ')}`);
    assert.equal(
      oneLineError(await pgkeeper(['schedule', 'create', scheduled, '--drill', '--retention', 'keepLast=3', '--verify', 'toc'])),
      'pgkeeper: --retention, --verify: a drill schedule restores backups and makes none; set them on the backup schedule',
    );
    // A calendar no date matches: a schedule that never runs is refused, and none is left behind.
    const never = '--cron "0 2 30 2 *" matches no date that exists';
    assert.equal(oneLineError(await pgkeeper(['schedule', 'create', scheduled, '--cron', '0 2 30 2 *'])), `pgkeeper: the schedule would never run: ${never}; nothing was created`);
    assert.match(oneLineError(await pgkeeper(['schedule', 'describe', scheduled])), /does not exist/);
    assert.equal((await pgkeeper(['schedule', 'create', scheduled])).exitCode, 0);
    try {
      const described = (await pgkeeper(['schedule', 'describe', scheduled])).stdout;
      assert.match(described, /^timing {5}cron "0 2 \* \* \*" in UTC$/m, 'the timing as it was typed');
      assert.match(described, new RegExp(`^input {6}\\{"database":"${scheduled}"\\}$`, 'm'));
      for (const [flags, expected] of cases) assert.match(oneLineError(await pgkeeper(['schedule', 'update', scheduled, ...flags])), expected, `update ${flags.join(' ')}`);
      assert.equal(oneLineError(await pgkeeper(['schedule', 'update', scheduled, '--cron', '0 2 30 2 *'])), `pgkeeper: the schedule would never run: ${never}: change it with \`pgkeeper schedule update\``);
    } finally {
      await pgkeeper(['schedule', 'delete', scheduled]);
    }
  });

  it('schedule create checks the database exists on the worker\'s server: a missing one is refused leaving nothing, an unchecked one is said', async () => {
    const missing = uniqueName('pgk_cli_nodb');
    await withWorker(env, config, async () => {
      const refused = oneLineError(await pgkeeper(['schedule', 'create', missing]));
      assert.match(refused, new RegExp(`^pgkeeper: database "${missing}" does not exist on ${config.db.host}:${config.db.port} \\(databases there: .*"${database}".*\\); check the name, or create the database first; nothing was created$`));
      assert.doesNotMatch(refused, /template0/, 'templates are not listed');
      assert.match(oneLineError(await pgkeeper(['schedule', 'describe', missing])), /does not exist/);
      // A drill restores backups, not the live database: refused only when no store holds one either
      // (schedule.test.ts: a dropped database's backups are taken).
      const drill = oneLineError(await pgkeeper(['schedule', 'create', missing, '--drill']));
      assert.match(drill, new RegExp(`^pgkeeper: no store holds a backup of "${missing}" \\(.*\\), and database "${missing}" does not exist on .*; check the name; nothing was created$`));
      const created = await pgkeeper(['schedule', 'create', database]);
      assert.equal(created.exitCode, 0, created.stderr);
      assert.equal(String(created.stderr), '', 'nothing to note');
      await pgkeeper(['schedule', 'delete', database]);
    });
    // No worker to ask (a queue nobody ever polled: Temporal lists a stopped worker for a while):
    // the schedule is made, and the note says what was not checked.
    const idle = { TASK_QUEUE: uniqueName('pgk_cli_idle') };
    const unchecked = await pgkeeper(['schedule', 'create', missing], idle);
    try {
      assert.equal(unchecked.exitCode, 0, unchecked.stderr);
      assert.match(unchecked.stdout, /^created schedule /);
      assert.equal(String(unchecked.stderr).trim(), `note: whether database "${missing}" exists was not checked (no pgkeeper worker polls task queue "${idle.TASK_QUEUE}"); its first scheduled backup fails if it does not`);
    } finally {
      await pgkeeper(['schedule', 'delete', missing], idle);
    }
  });

  it("restore --help names the task queue to type in the UI: this shell's TASK_QUEUE, else the default", async () => {
    const own = await pgkeeper(['restore', '--help']);
    assert.match(own.stdout, new RegExp(`^From the Temporal UI: Start Workflow, task queue "${queue}" \\(TASK_QUEUE\\), workflow type$`, 'm'));
    const unset = await pgkeeper(['restore', '--help'], { TASK_QUEUE: '' });
    assert.match(unset.stdout, /^From the Temporal UI: Start Workflow, task queue "pgkeeper" \(or the worker's TASK_QUEUE\), workflow type$/m);
  });

  it('a mistyped command or option: the suggestion and one usage line, not the whole help', async () => {
    const command = await pgkeeper(['bakup', database]);
    assert.equal(command.exitCode, 1);
    assert.equal(String(command.stderr).trim(), "error: unknown command 'bakup'\n(Did you mean backup?)\n(pgkeeper --help lists the commands; pgkeeper <command> --help their options)");
    const subcommand = await pgkeeper(['schedule', 'creat', database]);
    assert.equal(String(subcommand.stderr).trim(), "error: unknown command 'creat'\n(Did you mean create?)\n(pgkeeper schedule --help lists its commands; pgkeeper schedule <command> --help their options)");

    const option = await pgkeeper(['restore', 'latest', '--jbos', '8']);
    assert.equal(option.exitCode, 1);
    const lines = String(option.stderr).trim().split('\n');
    assert.deepEqual(lines.slice(0, 2), ["error: unknown option '--jbos'", '(Did you mean --jobs?)']);
    assert.ok(lines.length <= 3, lines.join('\n'));
    for (const result of [command, option]) {
      assert.doesNotMatch(String(result.stderr), /^Commands:|^Options:/m, 'not the whole help');
      assert.doesNotMatch(String(result.stderr), /^\s+at /m, 'no stack trace');
      assert.equal(result.stdout, '');
    }

    // backup without a database, and the options of --all given to one database.
    assert.equal(oneLineError(await pgkeeper(['backup'])), 'pgkeeper: give one database to back up, or --all for every database on the server');
    assert.equal(oneLineError(await pgkeeper(['backup', '--include', 'app*'])), 'pgkeeper: give one database to back up, or --all for every database on the server');
    assert.equal(oneLineError(await pgkeeper(['backup', database, '--exclude', 'x'])), 'pgkeeper: --exclude goes with --all (a backup of every database); for one database leave it out');
    // --confirm alone: the --replace was most likely forgotten; nothing is started.
    const confirmOnly = await pgkeeper(['restore', 'latest', '--database', database, '--target', database, '--confirm', database]);
    assert.equal(oneLineError(confirmOnly), `pgkeeper: --confirm goes with --replace: to replace "${database}" add --replace; to restore into a new database leave --confirm out`);
    assert.equal(confirmOnly.stdout, '');
  });

  it('--version prints the version package.json gives', async () => {
    const { version } = JSON.parse(readFileSync(`${ROOT}/package.json`, 'utf8')) as { version: string };
    for (const flag of ['--version', '-V']) {
      const run = await pgkeeper([flag]);
      assert.deepEqual([run.exitCode, run.stdout], [0, version]);
    }
  });
});
