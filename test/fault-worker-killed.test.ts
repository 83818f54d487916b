/**
 * Faults: the worker killed with SIGKILL, its whole process group at once (pg tools, zstd and age go
 * with it, as when the machine goes away), or stopped with SIGTERM (as docker stop does), in the middle of each step that matters: the dump's
 * upload, publishing, the restore into staging, a swap that waits for clients to let go (and a
 * cancel there, with no worker killed). Every
 * activity heartbeats, so a second worker takes the step over once the 30 s heartbeat timeout
 * notices the dead one: each test takes about that long. Publishing and the swap are over in
 * milliseconds, so the first worker is made to hold them (PGKEEPER_TEST_HOLD) or kept busy by a
 * client that keeps reconnecting.
 */
import assert from 'node:assert/strict';
import { promises as fs } from 'node:fs';
import { after, afterEach, before, describe, it } from 'node:test';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import { WorkflowFailedError, type WorkflowHandle } from '@temporalio/client';
import { CancelledFailure } from '@temporalio/common';
import { completeBackups } from '../activities/store/backup-catalog.js';
import { backupKeys } from '../common/backup-keys.js';
import { databaseWorkflowId } from '../common/names.js';
import type { Config } from '../common/config.js';
import type { BackupResult } from '../common/types.js';
import { backupDatabase } from '../workflows/index.js';
import { testConfig, uniqueName } from './helpers/config.js';
import { manifestsNamingMissingFiles, sampleWhile, stagingDatabases, unfinishedWrites } from './helpers/leftovers.js';
import { adminClient, createBigDatabase, databaseExists, dropDatabase, listDatabases, seedDatabase, sql, tableFingerprints } from './helpers/postgres.js';
import { waitFor } from './helpers/processes.js';
import { keysUnder, STORE_KINDS, storeUnderTest, type StoreUnderTest } from './helpers/stores.js';
import { startDevServer, withWorker } from './helpers/temporal.js';
import { tempDir } from './helpers/temp-dirs.js';
import { toolNames, toolPidsBelow, toolsInGroup } from './helpers/tool-processes.js';
import { killSpawnedWorkers, spawnWorker, type WorkerProcess } from './helpers/worker-process.js';
import { runBackup, startRestore, startedAttempts } from './helpers/workflows.js';

/** "Well under two minutes" (issue 9): a dead worker is noticed in 30 s, the retry waits 5 s more. */
const TAKEOVER_LIMIT_MS = 90_000;

const small = uniqueName('pgk_kill');
const big = uniqueName('pgk_killbig');

before(async () => {
  await seedDatabase(testConfig(), small);
  await createBigDatabase(testConfig(), big);
});
afterEach(killSpawnedWorkers);
after(async () => {
  const config = testConfig();
  for (const name of (await listDatabases(config)).filter((n) => n.startsWith(small) || n.startsWith(big))) await dropDatabase(config, name);
});

/** The activity the run waits for now, once a worker has started it. */
async function startedActivity(handle: WorkflowHandle): Promise<string | undefined> {
  const pending = (await handle.describe()).raw.pendingActivities ?? [];
  return pending.find((a) => a.lastStartedTime)?.activityType?.name ?? undefined;
}

/** SIGKILL to the worker's whole process group; resolves once none of its tools is left. */
async function killWorker(worker: WorkerProcess): Promise<number> {
  const group = worker.child.pid!;
  await worker.kill('SIGKILL');
  await waitFor('every tool of the killed worker to be gone', () => toolsInGroup(group).length === 0);
  return Date.now();
}

/** How many times an activity of that type was started in the run (attempts included). */
async function attemptsOf(handle: WorkflowHandle, activity: string): Promise<number> {
  return (await startedAttempts(handle, activity))[0] ?? 0;
}

for (const kind of STORE_KINDS) {
  describe(`fault: worker killed while backing up (${kind} store)`, () => {
    let env: TestWorkflowEnvironment;
    let t: StoreUnderTest;

    const startBackup = (database: string) =>
      env.client.workflow.start(backupDatabase, { args: [{ database }], taskQueue: t.config.temporal.taskQueue, workflowId: databaseWorkflowId(t.config.temporal.taskQueue, database) });

    /** Exactly one complete backup, `result`'s: its three objects and nothing else, no unfinished write. */
    const assertOnlyBackup = async (database: string, result: BackupResult) => {
      assert.deepEqual((await completeBackups(t.store, database)).map((b) => b.id), [result.backupId]);
      const keys = backupKeys(database, result.backupId, [{ filter: 'zstd', level: 1 }]);
      assert.deepEqual(await keysUnder(t.store, `${database}/`), [keys.archive, keys.sidecar, keys.manifest].sort(), 'no facts, nothing partial');
      assert.deepEqual(await unfinishedWrites(t, database), [], "the killed attempt's unfinished write was removed by the retry");
    };

    before(async () => {
      t = await storeUnderTest(kind);
      env = await startDevServer();
    });
    after(async () => {
      await env?.teardown();
      await t?.stop();
    });

    it('SIGKILL mid-upload: nothing partial is visible; a second worker completes the backup and removes the dead upload', async () => {
      const first = await spawnWorker(env.address, t.config);
      const handle = await startBackup(big);
      const manifests = sampleWhile(() => manifestsNamingMissingFiles(t, big));
      // The archive is being written: a posix partial file, or an S3 multipart upload under way.
      await waitFor('the upload to be under way', async () => (await unfinishedWrites(t, big)).length > 0, 60_000);
      // Every stream tool runs in the worker's process group (so the machine going away takes them
      // all); on a busy machine the last of them may still be starting when the upload begins.
      const expected = ['pg_dump', 'pg_restore', 'zstd'];
      await waitFor(`${expected.join(', ')} in the worker's process group`, () => toolNames(toolsInGroup(first.child.pid!)).join() === expected.join(), 30_000);
      await killWorker(first);

      // What the dead worker leaves is no backup: the dump's facts, and a write nobody lists.
      assert.ok((await keysUnder(t.store, `${big}/`)).every((k) => k.endsWith('.facts.json')), 'no archive is visible');
      assert.equal((await unfinishedWrites(t, big)).length, 1);

      const result = await withWorker(env, t.config, () => handle.result());
      const { samples, problems } = await manifests.stop();
      assert.equal(result.status, 'completed');
      assert.ok(await attemptsOf(handle, 'dumpDatabase') >= 2, 'the dump was retried after the worker died');
      await assertOnlyBackup(big, result as BackupResult);
      assert.ok(samples > 0);
      assert.deepEqual(problems, [], 'never a manifest naming a missing archive');
    });

    it('SIGTERM to the worker mid-dump (as docker stop and systemctl stop send it): it stops gracefully, its tools stopped and nothing partial left; the backup completes', async () => {
      const first = await spawnWorker(env.address, t.config);
      let output = '';
      first.child.stdout!.on('data', (chunk: Buffer) => (output += chunk.toString()));
      const handle = await startBackup(big);
      await waitFor('the upload to be under way', async () => (await unfinishedWrites(t, big)).length > 0, 60_000);
      const expected = ['pg_dump', 'pg_restore', 'zstd'];
      await waitFor(`${expected.join(', ')} to run`, () => toolNames(toolsInGroup(first.child.pid!)).join() === expected.join(), 30_000);
      process.kill(first.child.pid!, 'SIGTERM'); // the worker alone: its tools are its to stop
      const exited = await first.child;
      assert.deepEqual([exited.signal, exited.exitCode], [undefined, 0], `the worker ended by itself, not by the signal:\n${output}`);
      assert.match(output, /pgkeeper worker stopped/);
      await waitFor('no tool to outlive it', () => toolsInGroup(first.child.pid!).length === 0);
      assert.deepEqual(await unfinishedWrites(t, big), [], 'its unfinished write was removed');

      const result = await withWorker(env, t.config, () => handle.result());
      assert.equal(result.status, 'completed');
      assert.ok((await completeBackups(t.store, big)).some((b) => b.id === (result as BackupResult).backupId));
    });

    it('SIGKILL while publishing: a second worker completes the backup well within two minutes; never a manifest naming a missing archive', async () => {
      const first = await spawnWorker(env.address, t.config, true, { PGKEEPER_TEST_HOLD: 'publishBackup' });
      const handle = await startBackup(small);
      const manifests = sampleWhile(() => manifestsNamingMissingFiles(t, small));
      await waitFor('publishBackup to run on the first worker', async () => (await startedActivity(handle)) === 'publishBackup', 60_000);
      const killedAt = await killWorker(first);

      const result = await withWorker(env, t.config, () => handle.result());
      const tookMs = Date.now() - killedAt;
      const { samples, problems } = await manifests.stop();
      assert.equal(result.status, 'completed');
      assert.ok(tookMs < TAKEOVER_LIMIT_MS, `completed ${tookMs} ms after the worker died`);
      assert.ok(await attemptsOf(handle, 'publishBackup') >= 2, 'publishing was retried on the second worker');
      await assertOnlyBackup(small, result as BackupResult);
      assert.ok(samples > 0);
      assert.deepEqual(problems, [], 'never a manifest naming a missing archive');
    });
  });
}

/**
 * Clients that reconnect to `database` as soon as they are thrown out, as an application's
 * connection pool does: the swap can never have the database to itself while they run.
 */
function keepConnecting(config: Config, database: string, clients = 3): { stop(): Promise<void> } {
  let running = true;
  const loop = async () => {
    while (running) {
      const client = adminClient(config, database);
      const gone = new Promise<void>((resolve) => {
        client.once('end', resolve);
        client.once('error', () => resolve());
      });
      try {
        await client.connect();
        while (running && !(await Promise.race([gone.then(() => true), new Promise<false>((r) => setTimeout(() => r(false), 50))]))) {
          // connected: hold the session until it is ended, or until told to stop
        }
      } catch {
        await new Promise((r) => setTimeout(r, 20)); // refused (the database mid-rename): try again
      }
      await client.end().catch(() => undefined);
    }
  };
  const loops = Array.from({ length: clients }, loop);
  return {
    async stop() {
      running = false;
      await Promise.all(loops);
    },
  };
}

describe('fault: worker killed while restoring (file store)', () => {
  let env: TestWorkflowEnvironment;
  let t: StoreUnderTest;
  const scratch = tempDir('scratch');

  before(async () => {
    t = await storeUnderTest('file', { SCRATCH_DIR: scratch });
    env = await startDevServer();
  });
  after(async () => {
    await env?.teardown();
    await t?.stop();
  });

  /** A restore of a fresh backup into `target`, its worker killed while pg_restore runs into staging. */
  async function restoreKilled(target: string) {
    const backup = await withWorker(env, t.config, () => runBackup(env, t.config, big));
    const first = await spawnWorker(env.address, t.config);
    const handle = await startRestore(env, t.config, { backup: backup.backupId, target });
    await waitFor('pg_restore to run into staging', () => toolsInGroup(first.child.pid!).some((l) => l.startsWith('pg_restore ') && l.includes(`${target}_restoring_`)), 120_000);
    await killWorker(first);
    return handle;
  }

  it('SIGKILL mid-restore: the target is untouched; the second attempt fetches afresh (not the dead worker\'s scratch file); no staging is left', async () => {
    const target = `${big}_copy`;
    const handle = await restoreKilled(target);
    assert.equal(await databaseExists(t.config, target), false, 'the target does not exist while the restore is interrupted');

    // The dead worker could not remove its scratch file. Spoil it: a retry that read it instead
    // of fetching the archive again would restore garbage (or fail).
    const [left] = await fs.readdir(scratch);
    assert.ok(left, 'the killed worker left its scratch file');
    await fs.truncate(`${scratch}/${left}`, 4096);

    const result = await withWorker(env, t.config, () => handle.result());
    assert.equal(result.target, target);
    assert.ok(await attemptsOf(handle, 'restoreIntoStaging') >= 2, 'the restore into staging was retried');
    assert.deepEqual(await tableFingerprints(t.config, target), await tableFingerprints(t.config, big));
    assert.deepEqual(await stagingDatabases(t.config, target), [], 'no staging database left');
    assert.deepEqual(await fs.readdir(scratch), [], 'no scratch file left');
  });

  it('Ctrl-C in the worker\'s terminal mid-restore (SIGINT to its whole process group, pg_restore too): retried by the next worker, not failed for good', async () => {
    const target = `${big}_ctrl_c`;
    const backup = await withWorker(env, t.config, () => runBackup(env, t.config, big));
    const first = await spawnWorker(env.address, t.config);
    let output = '';
    first.child.stdout!.on('data', (chunk: Buffer) => (output += chunk.toString()));
    const handle = await startRestore(env, t.config, { backup: backup.backupId, target });
    await waitFor('pg_restore to run into staging', () => toolsInGroup(first.child.pid!).some((l) => l.startsWith('pg_restore ') && l.includes(`${target}_restoring_`)), 120_000);
    await first.kill('SIGINT'); // as the terminal sends it: to the foreground process group
    assert.match(output, /pgkeeper worker stopped/, 'the worker stopped gracefully');
    // While no worker runs: the half-restored copy does not hold the server's disk until one does.
    assert.deepEqual(await stagingDatabases(t.config, target), [], 'the staging database dropped as the worker stopped');
    assert.deepEqual(await fs.readdir(scratch), [], 'and the scratch file removed');

    const result = await withWorker(env, t.config, () => handle.result());
    assert.equal(result.target, target);
    assert.ok((await attemptsOf(handle, 'restoreIntoStaging')) >= 2, 'the restore into staging was retried');
    assert.deepEqual(await tableFingerprints(t.config, target), await tableFingerprints(t.config, big));
    assert.deepEqual(await stagingDatabases(t.config, target), [], 'no staging database left');
  });

  it('SIGKILL mid-restore, then cancelled: the run ends cancelled (not failed by the timeout that follows); no staging database, no scratch file left', async () => {
    const target = `${big}_cancelled`;
    const handle = await restoreKilled(target);
    assert.ok((await fs.readdir(scratch)).length > 0, 'the killed worker left its scratch file');
    await handle.cancel();
    const err = await withWorker(env, t.config, () => handle.result()).catch((e: unknown) => e);
    assert.ok(err instanceof WorkflowFailedError && err.cause instanceof CancelledFailure, String(err));
    assert.equal((await handle.describe()).status.name, 'CANCELLED');
    assert.equal(await databaseExists(t.config, target), false);
    assert.deepEqual(await stagingDatabases(t.config, target), [], 'no staging database left');
    assert.deepEqual(await fs.readdir(scratch), [], 'no scratch file left');
  });

  it('SIGKILL during a busy swap: the target exists at every moment; a second worker swaps in the restored data well within two minutes', async () => {
    const live = uniqueName('pgk_kill_live');
    await createLive(t.config, live);
    const backup = await withWorker(env, t.config, () => runBackup(env, t.config, small));
    const liveBefore = await tableFingerprints(t.config, live);

    const present = sampleWhile(async () => ((await databaseExists(t.config, live)) ? [] : [`${live} missing at ${new Date().toISOString()}`]), 100);
    const clients = keepConnecting(t.config, live);
    let clientsStopped = false;
    try {
      const first = await spawnWorker(env.address, t.config);
      const handle = await startRestore(env, t.config, { backup: backup.backupId, target: live, mode: 'replace', confirm: live });
      await waitFor('swapIntoPlace to run on the first worker', async () => (await startedActivity(handle)) === 'swapIntoPlace', 120_000);
      // The rename waits for the reconnecting clients (and then fails, and is tried again).
      await waitFor('the swap to wait for the clients', async () => (await sql(t.config, 'postgres', `select 1 from pg_stat_activity where state = 'active' and query ilike 'alter database%rename%'`)).length > 0);
      const killedAt = await killWorker(first);
      await clients.stop();
      clientsStopped = true;

      const result = await withWorker(env, t.config, () => handle.result());
      const tookMs = Date.now() - killedAt;
      const { samples, problems } = await present.stop();
      assert.ok(tookMs < TAKEOVER_LIMIT_MS, `swapped ${tookMs} ms after the worker died`);
      assert.ok(await attemptsOf(handle, 'swapIntoPlace') >= 2, 'the swap was retried on the second worker');
      assert.ok(samples > 0);
      assert.deepEqual(problems, [], 'the live database was never missing');
      assert.deepEqual(await tableFingerprints(t.config, live), await tableFingerprints(t.config, small), 'the restored data is live');
      assert.ok(result.keptPrevious);
      assert.deepEqual(await tableFingerprints(t.config, result.keptPrevious), liveBefore, 'the previous database is kept');
      assert.deepEqual(await stagingDatabases(t.config, live), []);
    } finally {
      if (!clientsStopped) await clients.stop();
      await present.stop();
    }
  });

  it('cancelled while the swap waits for clients: the run ends cancelled and the live database stays, though the clients let go before the attempt ends; nothing kept, no staging', async () => {
    const live = uniqueName('pgk_kill_cancel');
    await createLive(t.config, live);
    const backup = await withWorker(env, t.config, () => runBackup(env, t.config, small));
    const liveBefore = await tableFingerprints(t.config, live);
    const clients = keepConnecting(t.config, live);
    let clientsStopped = false;
    try {
      await withWorker(env, t.config, async () => {
        const handle = await startRestore(env, t.config, { backup: backup.backupId, target: live, mode: 'replace', confirm: live });
        await waitFor('the swap to wait for the clients', async () => (await sql(t.config, 'postgres', `select 1 from pg_stat_activity where state = 'active' and query ilike 'alter database%rename%'`)).length > 0, 120_000);
        await handle.cancel();
        // Let go once the cancel has reached the activity (heartbeats carry it back within the
        // worker's 3 s throttle), while its attempt still goes on: a swap deaf to it renames now.
        await new Promise((r) => setTimeout(r, 4_000));
        await clients.stop();
        clientsStopped = true;
        const err = await handle.result().catch((e: unknown) => e);
        assert.ok(err instanceof WorkflowFailedError && err.cause instanceof CancelledFailure, err instanceof Error ? String(err) : `ended with ${JSON.stringify(err)}`);
        assert.equal((await handle.describe()).status.name, 'CANCELLED');
      });
      assert.deepEqual(await tableFingerprints(t.config, live), liveBefore, 'the live database is the one it was');
      assert.deepEqual((await listDatabases(t.config)).filter((n) => n.startsWith(`${live}_pre_restore_`)), [], 'nothing kept: nothing was swapped');
      assert.deepEqual(await stagingDatabases(t.config, live), [], 'no staging database left');
    } finally {
      if (!clientsStopped) await clients.stop();
      await dropDatabase(t.config, live);
    }
  });

  it('the read-through pg_restore killed mid-dump: nothing hangs; the dump is retried and the backup completes', { timeout: 180_000 }, async () => {
    await withWorker(env, t.config, async () => {
      const handle = await env.client.workflow.start(backupDatabase, {
        args: [{ database: big }],
        taskQueue: t.config.temporal.taskQueue,
        workflowId: databaseWorkflowId(t.config.temporal.taskQueue, big),
      });
      const [pid] = await waitFor('the read-through to run', () => {
        const found = toolPidsBelow(/^pg_restore \S+ --file=\/dev\/null$/);
        return found.length > 0 ? found : undefined;
      });
      process.kill(pid!, 'SIGKILL'); // as the OOM killer would
      const result = await handle.result();
      assert.equal(result.status, 'completed');
      assert.ok(await attemptsOf(handle, 'dumpDatabase') >= 2, 'the dump was retried');
      assert.ok((await completeBackups(t.store, big)).some((b) => b.id === (result as BackupResult).backupId));
      assert.deepEqual(await unfinishedWrites(t, big), []);
    });
  });
});

/** The live database a replace restore swaps out: other data than the backup's, so the swap shows. */
async function createLive(config: Config, name: string): Promise<void> {
  await sql(config, 'postgres', `create database ${name}`);
  await sql(config, name, `create table customers (id int primary key, name text); insert into customers values (1, 'the live data')`);
}
