import assert from 'node:assert/strict';
import { promises as fs } from 'node:fs';
import { execFileSync } from 'node:child_process';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { WorkflowFailedError } from '@temporalio/client';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import type { ClusterResult } from '../common/types.js';
import { scriptForMissingRoles } from '../activities/globals.js';
import { backupCluster } from '../workflows/index.js';
import { testConfig, uniqueName } from './helpers/config.js';
import { createDatabase, dropDatabase, listDatabases, quoteIdent, seedDatabase, sql } from './helpers/postgres.js';
import { startDevServer, withWorker } from './helpers/temporal.js';
import { rootFailure, runRestore } from './helpers/workflows.js';

describe('backupCluster workflow and globals', () => {
  let env: TestWorkflowEnvironment;
  const config = testConfig();
  const prefix = uniqueName('pgk_cl');
  const role = uniqueName('pgk_globrole');
  const rolesToDrop = new Set<string>([role]);

  before(async () => {
    env = await startDevServer();
    await sql(config, 'postgres', `create role ${role} login`);
    await seedDatabase(config, `${prefix}_a`);
    await createDatabase(config, `${prefix}_b`);
    await sql(config, `${prefix}_b`, `create table owned (id int primary key); insert into owned values (1), (2); alter table owned owner to ${role}`);
    await createDatabase(config, `${prefix}_c`);
    await sql(config, 'postgres', `alter database ${prefix}_c allow_connections false`); // cannot be dumped
  });
  after(async () => {
    for (const name of (await listDatabases(config)).filter((n) => n.startsWith(prefix))) {
      await sql(config, 'postgres', `alter database ${quoteIdent(name)} allow_connections true`);
      await dropDatabase(config, name);
    }
    for (const r of rolesToDrop) await sql(config, 'postgres', `drop role if exists ${quoteIdent(r)}`);
    await env?.teardown();
  });

  it('backs up the globals and every database, reports each outcome, and fails only at the end', async () => {
    const err = await withWorker(env, config, () =>
      env.client.workflow
        .execute(backupCluster, { args: [{ include: [`${prefix}_*`], concurrency: 2 }], taskQueue: config.temporal.taskQueue, workflowId: uniqueName('cluster') })
        .catch((e: unknown) => e),
    );
    assert.ok(err instanceof WorkflowFailedError, String(err));
    const failure = rootFailure(err) as Error & { type?: string; details?: unknown[] };
    assert.equal(failure.type, 'ClusterBackupFailed');
    assert.match(failure.message, new RegExp(`1 of 4 parts failed: ${prefix}_c \\(database "${prefix}_c" does not accept connections`));
    const result = failure.details![0] as ClusterResult;
    assert.deepEqual(
      result.databases.map((d) => `${d.database}:${d.status}`),
      [`${prefix}_a:completed`, `${prefix}_b:completed`, `${prefix}_c:failed`],
    );
    for (const done of result.databases.filter((d) => d.status === 'completed')) {
      assert.ok((await fs.readdir(path.join(config.backupDir, done.database))).includes(`${done.backupId}.manifest.json`));
    }
    assert.equal(result.globals.status, 'completed');
    const script = await fs.readFile(result.globals.path!, 'utf8');
    assert.match(script, new RegExp(`CREATE ROLE ${role};`));
    assert.equal((await fs.stat(result.globals.path!)).mode & 0o777, 0o600, 'role password hashes are private');
    execFileSync('sha256sum', ['-c', `${result.globals.id}.sql.sha256`], { cwd: path.dirname(result.globals.path!) });
  });

  it('a database restores onto a server whose roles were dropped, by applying the globals backup first', async () => {
    await dropDatabase(config, `${prefix}_b`);
    await sql(config, 'postgres', `drop role ${role}`);
    const target = `${prefix}_b_restored`;
    await withWorker(env, config, async () => {
      const refused = await runRestore(env, config, { backup: 'latest', database: `${prefix}_b`, target }).catch((e: unknown) => e);
      assert.match(rootFailure(refused).message, new RegExp(`roles missing on .*"${role}"`));

      const result = await runRestore(env, config, { backup: 'latest', database: `${prefix}_b`, target, globals: 'latest' });
      for (const created of result.globals!.created) rolesToDrop.add(created);
      assert.ok(result.globals!.created.includes(role), `created: ${result.globals!.created.join(', ')}`);
      assert.ok(!result.globals!.created.includes(config.db.user), 'existing roles (the superuser the backup ran as) are left alone');
    });
    const [row] = await sql<{ owner: string; n: string }>(config, target, `select tableowner as owner, (select count(*) from owned) as n from pg_tables where tablename = 'owned'`);
    assert.deepEqual(row, { owner: role, n: '2' });
  });

  it('applying globals never changes an existing role: its ALTER ROLE and memberships are left out', () => {
    const script = [
      'CREATE ROLE app;',
      "ALTER ROLE app WITH LOGIN PASSWORD 'SCRAM-SHA-256$x';",
      'CREATE ROLE postgres;',
      'ALTER ROLE postgres WITH SUPERUSER;',
      'CREATE ROLE "We ird";',
      'GRANT pg_read_all_data TO app GRANTED BY postgres;',
      'GRANT app TO postgres GRANTED BY postgres;',
      'GRANT app TO "We ird";',
    ].join('\n');
    const { script: kept, created } = scriptForMissingRoles(script, new Set(['postgres', 'pg_read_all_data']));
    assert.deepEqual(created, ['We ird', 'app']);
    assert.deepEqual(kept.split('\n'), [
      'CREATE ROLE app;',
      "ALTER ROLE app WITH LOGIN PASSWORD 'SCRAM-SHA-256$x';",
      'CREATE ROLE "We ird";',
      'GRANT pg_read_all_data TO app GRANTED BY postgres;',
      'GRANT app TO "We ird";',
    ]);
  });
});
