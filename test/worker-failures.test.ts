/**
 * What the worker says when things go wrong, and what it must not say: a short password hidden
 * without mangling every message, a pg_dump killed by a signal reported as killed (and retried),
 * and no warning from the pg client about queries sent while another one runs.
 */
import assert from 'node:assert/strict';
import { chmod, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { WorkflowFailedError } from '@temporalio/client';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import { redact } from '../activities/failures.js';
import { databaseWorkflowId } from '../common/names.js';
import { backupDatabase } from '../workflows/index.js';
import { testCluster } from './helpers/cluster.js';
import { testConfig, uniqueName } from './helpers/config.js';
import { createDatabase, dropDatabase, holdTableLock, listDatabases, quoteIdent, seedDatabase, sql, tableFingerprints } from './helpers/postgres.js';
import { processesMatching, waitFor } from './helpers/processes.js';
import { startDevServer, withWorker } from './helpers/temporal.js';
import { tempDir } from './helpers/temp-dirs.js';
import { spawnWorker } from './helpers/worker-process.js';
import { rootFailure, runBackup, runRestore } from './helpers/workflows.js';

describe('worker failures', () => {
  let env: TestWorkflowEnvironment;
  const config = testConfig();
  const database = uniqueName('pgk_wfail');
  const created: string[] = [];
  const roles: string[] = [];

  before(async () => {
    env = await startDevServer();
    await seedDatabase(config, database);
  });
  after(async () => {
    const all = await listDatabases(config);
    for (const name of all.filter((n) => n === database || created.some((c) => n.startsWith(c)))) await dropDatabase(config, name);
    for (const role of roles) await sql(config, 'postgres', `drop role if exists ${quoteIdent(role)}`);
    await env?.teardown();
  });

  it('a short DB_PASSWORD is hidden where it stands alone and never mangles words such as pg_dump', async () => {
    const short = testConfig({ DB_PASSWORD: 'pg' });
    assert.equal(
      redact(short, 'pg_dump failed for "pg" (postgres://app:pg@db) as pgkeeper; pg'),
      'pg_dump failed for "***" (postgres://app:***@db) as pgkeeper; ***',
    );

    // The same through a real failure: a role whose password is "pg", and a pg_dump that reports
    // an old version (the server's own pg_dump behind a wrapper), so the message names pg_dump.
    const role = uniqueName('pgk_short');
    roles.push(role);
    await sql(config, 'postgres', `create role ${quoteIdent(role)} login password 'pg'`);
    const dir = tempDir('oldbin');
    await writeFile(path.join(dir, 'pg_dump'), `#!/bin/sh\nif [ "$1" = "--version" ]; then echo "pg_dump (PostgreSQL) 12.22"; exit 0; fi\nexec ${path.join(testCluster().binDir, 'pg_dump')} "$@"\n`);
    await chmod(path.join(dir, 'pg_dump'), 0o755);
    const c = testConfig({ DB_USER: role, DB_PASSWORD: 'pg', PG_BIN_DIR: dir });
    const err = await withWorker(env, c, () => runBackup(env, c, 'postgres').catch((e: unknown) => e));
    assert.ok(err instanceof WorkflowFailedError, String(err));
    assert.equal(rootFailure(err).type, 'PgToolTooOld');
    assert.match(rootFailure(err).message, /^pg_dump 12 \("pg_dump \(PostgreSQL\) 12\.22"\) is older than the server/);
    assert.ok(!err.cause!.message.includes('***'), err.cause!.message);
  });

  it('a pg_dump killed by a signal is reported as killed, retried, and the backup completes', async () => {
    const lock = await holdTableLock(config, database); // pg_dump waits for it: a dump reliably in progress
    try {
      await withWorker(env, config, async () => {
        const handle = await env.client.workflow.start(backupDatabase, {
          args: [{ database }],
          taskQueue: config.temporal.taskQueue,
          workflowId: databaseWorkflowId(config.temporal.taskQueue, database),
        });
        const [pgDump] = await waitFor('pg_dump to run', () => {
          const found = processesMatching(`pg_dump.*${database}`);
          return found.length === 1 ? found : undefined;
        });
        process.kill(Number(pgDump!.trim().split(/\s+/)[0]), 'SIGKILL'); // as the OOM killer would
        await waitFor('the killed pg_dump to be gone', () => processesMatching(`pg_dump.*${database}`).every((p) => p !== pgDump));
        await lock.end(); // the retry may now dump
        const result = await handle.result();
        assert.equal(result.status, 'completed');

        // The second attempt of dumpDatabase carries the first attempt's failure.
        const events = (await handle.fetchHistory()).events!;
        const scheduled = events.filter((e) => e.activityTaskScheduledEventAttributes?.activityType?.name === 'dumpDatabase').map((e) => String(e.eventId));
        const started = events.map((e) => e.activityTaskStartedEventAttributes).filter((a) => a && scheduled.includes(String(a.scheduledEventId)));
        assert.deepEqual(started.map((a) => a!.attempt), [2], 'one retry');
        const first = started[0]!.lastFailure!;
        assert.equal(first.applicationFailureInfo?.type, 'PgToolKilled', first.message ?? '');
        assert.match(first.message ?? '', /^pg_dump was killed by SIGKILL/);
      });
    } finally {
      await lock.end().catch(() => undefined);
    }
  });

  it('a worker whose log reader went away (a log shipper that died) goes on backing up, and stops when told to', async () => {
    const stops = async (worker: Awaited<ReturnType<typeof spawnWorker>>) => {
      process.kill(worker.child.pid!, 'SIGTERM');
      const exited = await waitFor('the worker to stop', () => typeof worker.child.exitCode === 'number', 60_000).catch(() => false);
      assert.ok(exited, 'the worker stopped on SIGTERM (it used to retry the broken pipe for ever as it flushed its last lines)');
      assert.equal((await worker.child).exitCode, 0);
    };
    // Stopped at once (its last lines meet the broken pipe first), and after a backup.
    for (const backUpFirst of [false, true]) {
      const worker = await spawnWorker(env.address, config, true);
      worker.child.stdout!.destroy(); // the reading end closes: every log line from now on meets a broken pipe
      try {
        if (backUpFirst) assert.equal((await runBackup(env, config, database)).status, 'completed');
        await stops(worker);
      } finally {
        await worker.kill('SIGKILL');
      }
    }
  });

  it('a replace restore sends one query at a time on a pg client: no deprecation warning in the worker output', async () => {
    // Debug logs name every activity, so the capture can be seen to cover the swap.
    const worker = await spawnWorker(env.address, config, true, { LOG_LEVEL: 'debug' });
    let output = '';
    worker.child.stdout!.on('data', (chunk: Buffer) => (output += chunk.toString()));
    worker.child.stderr!.on('data', (chunk: Buffer) => (output += chunk.toString()));
    try {
      const backup = await runBackup(env, config, database);
      const target = uniqueName('pgk_wfail_target');
      created.push(target);
      await createDatabase(config, target);
      const result = await runRestore(env, config, { backup: backup.backupId, target, mode: 'replace', confirm: target });
      assert.equal(result.keptPrevious?.startsWith(`${target}_pre_restore_`), true);
      assert.deepEqual(await tableFingerprints(config, target), await tableFingerprints(config, database));
    } finally {
      await worker.kill('SIGTERM');
    }
    assert.match(output, /swapIntoPlace/, 'the worker\'s output covers the swap');
    assert.doesNotMatch(output, /DeprecationWarning/);
    assert.doesNotMatch(output, /already executing a query/);
  });
});
