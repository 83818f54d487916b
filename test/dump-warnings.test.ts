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
import { backupDir, testConfig, uniqueName } from './helpers/config.js';
import { createDatabase, dropDatabase, listDatabases, sql } from './helpers/postgres.js';
import { startDevServer, withWorker } from './helpers/temporal.js';
import { rootFailure, runBackup, runRestore, startedAttempts } from './helpers/workflows.js';
import { backupDatabase } from '../workflows/index.js';
import { databaseWorkflowId } from '../common/names.js';

describe('a DB_USER that is not a superuser', () => {
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
      assert.deepEqual(await startedAttempts(env.client.workflow.getHandle(workflowId), 'dumpDatabase'), [1], 'one attempt, not retried');
    } finally {
      await sql(admin, 'postgres', `grant pg_read_all_data to ${role.user}`);
    }
  });

  it('a DB_USER that may not connect to the database: the backup fails at once, naming the GRANT that fixes it', async () => {
    const config = testConfig({ DB_USER: role.user, DB_PASSWORD: role.password });
    await sql(admin, 'postgres', `revoke connect on database ${database} from public`);
    try {
      const workflowId = databaseWorkflowId(config.temporal.taskQueue, database);
      const err = await withWorker(env, config, () =>
        env.client.workflow.execute(backupDatabase, { args: [{ database }], taskQueue: config.temporal.taskQueue, workflowId }).catch((e: unknown) => e),
      );
      assert.ok(err instanceof WorkflowFailedError, String(err));
      const cause = rootFailure(err); // waiting for the server would end in DatabaseUnreachable instead
      assert.equal(cause.type, 'PermissionDenied', cause.message);
      assert.equal(
        cause.message,
        `DB_USER "${role.user}" may not connect to database "${database}" on 127.0.0.1:${config.db.port} (permission denied for database "${database}"): ` +
          `grant it CONNECT (GRANT CONNECT ON DATABASE "${database}" TO "${role.user}"), or run the worker as a superuser`,
      );
    } finally {
      await sql(admin, 'postgres', `grant connect on database ${database} to public`);
    }
  });

  it('a DB_USER that may not create databases: the restore fails at once, naming the ALTER ROLE that fixes it, and creates nothing', async () => {
    const made = await withWorker(env, admin, () => runBackup(env, admin, database));
    const config = testConfig({ DB_USER: role.user, DB_PASSWORD: role.password, BACKUP_DIR: backupDir(admin) });
    const target = uniqueName('pgk_nocreatedb');
    const before = await listDatabases(admin);
    const err = await withWorker(env, config, () => runRestore(env, config, { backup: made.backupId, target }).catch((e: unknown) => e));
    assert.ok(err instanceof WorkflowFailedError, String(err));
    const cause = rootFailure(err);
    assert.equal(cause.type, 'PermissionDenied', cause.message);
    assert.match(cause.message, new RegExp(`^DB_USER "${role.user}" may not create databases on 127\\.0\\.0\\.1:${config.db.port} \\(permission denied to create database\\): let it create databases \\(ALTER ROLE "${role.user}" CREATEDB\\), or run the worker as a superuser$`));
    assert.deepEqual(await listDatabases(admin), before, 'nothing created, nothing left');
  });

  it('reads the warning lines of pg_dump, not its other words', () => {
    assert.deepEqual(pgDumpWarnings('pg_dump: warning: a\npg_dump: detail: b\npg_dump: hint: c\npg_dump: error: e\nwarning: f\npg_dump: warning: g\n'), ['pg_dump: a (b; c)', 'pg_dump: g']);
  });
});
