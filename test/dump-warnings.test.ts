/**
 * A DB_USER that is not a superuser: pg_dump leaves out what it may not read (subscriptions with a
 * warning, a user mapping's options without one), and exits 0. The backup completes and says so, in its result
 * and in the worker's log, rather than look whole.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import { WorkflowFailedError } from '@temporalio/client';
import { pgDumpWarnings } from '../activities/dump-database.js';
import { testCluster } from './helpers/cluster.js';
import { testConfig, uniqueName } from './helpers/config.js';
import { createDatabase, dropDatabase, sql } from './helpers/postgres.js';
import { startDevServer, withWorker } from './helpers/temporal.js';
import { rootFailure, runBackup } from './helpers/workflows.js';
import { backupDatabase } from '../workflows/index.js';
import { databaseWorkflowId } from '../common/names.js';

describe('pg_dump warnings', () => {
  let env: TestWorkflowEnvironment;
  const admin = testConfig();
  const database = uniqueName('pgk_dumpwarn');
  const subscription = uniqueName('pgk_sub');
  const { role } = testCluster();

  before(async () => {
    env = await startDevServer();
    await createDatabase(admin, database);
    // Never connects (connect = false): only its definition is at stake.
    await sql(admin, database, `create subscription ${subscription} connection 'host=127.0.0.1 port=1 dbname=none' publication nothing with (connect = false, enabled = false, create_slot = false, slot_name = none)`);
    await sql(admin, database, `create foreign data wrapper pgk_dw; create server pgk_srv foreign data wrapper pgk_dw; create user mapping for public server pgk_srv options (user 'remote', password 'MAPPING_SECRET')`);
    await sql(admin, database, 'create table private_notes (note text)');
    await sql(admin, 'postgres', `grant pg_read_all_data to ${role.user}`);
  });
  after(async () => {
    await sql(admin, database, `drop subscription if exists ${subscription}`).catch(() => undefined);
    await dropDatabase(admin, database);
    await sql(admin, 'postgres', `revoke pg_read_all_data from ${role.user}`);
    await env?.teardown();
  });

  it('a backup by a DB_USER without superuser completes, and says what pg_dump left out', async () => {
    const config = testConfig({ DB_USER: role.user, DB_PASSWORD: role.password });
    const result = await withWorker(env, config, () => runBackup(env, config, database));
    assert.deepEqual(result.warnings, [
      `the options of 1 user mapping(s) (a remote password, say) are not readable by DB_USER "${role.user}", which is not a superuser: the backup holds those mappings without them`,
      'pg_dump: subscriptions not dumped because current user is not a superuser',
    ]);
    const bySuperuser = await withWorker(env, admin, () => runBackup(env, admin, database));
    assert.equal(bySuperuser.warnings, undefined, 'nothing left out: nothing said');
  });

  it('a DB_USER that may not read a table: the backup fails at once (a grant is the fix, not a retry), saying which grant', async () => {
    const config = testConfig({ DB_USER: role.user, DB_PASSWORD: role.password });
    await sql(admin, 'postgres', `revoke pg_read_all_data from ${role.user}`);
    try {
      const workflowId = databaseWorkflowId(config.temporal.taskQueue, database); // the run that holds the database does the work
      const err = await withWorker(env, config, () =>
        env.client.workflow.execute(backupDatabase, { args: [{ database }], taskQueue: config.temporal.taskQueue, workflowId }).catch((e: unknown) => e),
      );
      assert.ok(err instanceof WorkflowFailedError, String(err));
      const cause = rootFailure(err);
      assert.equal(cause.type, 'PermissionDenied', cause.message);
      assert.match(cause.message, new RegExp(`^DB_USER "${role.user}" may not dump database "${database}" on 127\\.0\\.0\\.1:${config.db.port} \\(permission denied for table private_notes\\): grant it pg_read_all_data \\(PostgreSQL 14 and later\\), or run the worker as a superuser$`));
      const events = (await env.client.workflow.getHandle(workflowId).fetchHistory()).events!;
      const scheduled = events.find((e) => e.activityTaskScheduledEventAttributes?.activityType?.name === 'dumpDatabase');
      const started = events.filter((e) => String(e.activityTaskStartedEventAttributes?.scheduledEventId) === String(scheduled?.eventId));
      assert.deepEqual(started.map((e) => e.activityTaskStartedEventAttributes!.attempt), [1], 'one attempt, not retried');
    } finally {
      await sql(admin, 'postgres', `grant pg_read_all_data to ${role.user}`);
    }
  });

  it('reads the warning lines of pg_dump, not its other words', () => {
    assert.deepEqual(pgDumpWarnings('pg_dump: warning: a\npg_dump: detail: b\npg_dump: hint: c\npg_dump: error: e\nwarning: f\npg_dump: warning: g\n'), ['pg_dump: a (b; c)', 'pg_dump: g']);
  });
});
