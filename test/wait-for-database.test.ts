import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import { WorkflowFailedError } from '@temporalio/client';
import type { Config } from '../common/config.js';
import { backupDatabase } from '../workflows/index.js';
import { databaseWorkflowId } from '../common/names.js';
import { testCluster } from './helpers/cluster.js';
import { testConfig, uniqueName, workerEnvironment } from './helpers/config.js';
import { startWorkerWithEnv } from './helpers/worker-with-env.js';
import { freePort } from './helpers/ports.js';
import { rootFailure, startedAttempts } from './helpers/workflows.js';
import { startDevServer, withWorker } from './helpers/temporal.js';

describe('waitForDatabase', () => {
  let env: TestWorkflowEnvironment;
  before(async () => {
    env = await startDevServer();
  });
  after(async () => {
    await env?.teardown();
  });

  /** A backup of "postgres" by a worker with `config`, which must fail: its run's id and root cause. */
  async function failedBackupOfPostgres(config: Config) {
    const workflowId = databaseWorkflowId(config.temporal.taskQueue, 'postgres');
    const err = await withWorker(env, config, () =>
      env.client.workflow
        .execute(backupDatabase, { args: [{ database: 'postgres' }], taskQueue: config.temporal.taskQueue, workflowId })
        .catch((e: unknown) => e),
    );
    assert.ok(err instanceof WorkflowFailedError, String(err));
    return { workflowId, cause: rootFailure(err) };
  }

  it('gives up after its deadline when nothing listens, with a message naming the server', async () => {
    const port = await freePort(); // nothing listens there
    const config = testConfig({ DB_PORT: String(port) });
    const startedMs = Date.now();
    const err = await withWorker(env, config, () =>
      env.client.workflow
        .execute(backupDatabase, {
          args: [{ database: 'postgres', waitTimeoutSeconds: 3 }],
          taskQueue: config.temporal.taskQueue,
          workflowId: databaseWorkflowId(config.temporal.taskQueue, 'postgres'),
        })
        .catch((e: unknown) => e),
    );
    const elapsedMs = Date.now() - startedMs;
    assert.ok(err instanceof WorkflowFailedError, String(err));
    const cause = rootFailure(err);
    assert.equal(cause.type, 'DatabaseUnreachable');
    assert.match(cause.message, new RegExp(`PostgreSQL at 127\\.0\\.0\\.1:${port} did not accept connections to "postgres" within \\d+ s`));
    assert.match(cause.message, /Check that the server is running/);
    assert.ok(elapsedMs >= 2_000, `gave up after ${elapsedMs} ms, before the 3 s deadline`);
  });

  it('fails at once, without retries, when the database does not exist', async () => {
    const config = testConfig();
    const missing = uniqueName('pgk_missing');
    const workflowId = databaseWorkflowId(config.temporal.taskQueue, missing);
    const err = await withWorker(env, config, () =>
      env.client.workflow
        .execute(backupDatabase, { args: [{ database: missing }], taskQueue: config.temporal.taskQueue, workflowId })
        .catch((e: unknown) => e),
    );
    assert.ok(err instanceof WorkflowFailedError);
    const cause = rootFailure(err);
    assert.equal(cause.type, 'DatabaseMissing');
    assert.match(cause.message, new RegExp(`database "${missing}" does not exist on 127\\.0\\.0\\.1:${config.db.port}`));

    const history = await env.client.workflow.getHandle(workflowId).fetchHistory();
    const scheduled = history.events!.filter((e) => e.activityTaskScheduledEventAttributes?.activityType?.name === 'waitForDatabase');
    assert.equal(scheduled.length, 1);
    const started = history.events!.filter((e) => String(e.activityTaskStartedEventAttributes?.scheduledEventId) === String(scheduled[0]!.eventId));
    assert.equal(started.length, 1);
    assert.equal(started[0]!.activityTaskStartedEventAttributes!.attempt, 1, 'not retried');
  });

  it('fails at once, without retries, when the password is wrong, naming the user and not the password', async () => {
    // The run's own cluster demands a password from every role, so this cannot pass by "trust".
    const { role } = testCluster();
    const wrong = `not-${role.password}`;
    const config = testConfig({ DB_USER: role.user, DB_PASSWORD: wrong });
    const { workflowId, cause } = await failedBackupOfPostgres(config);
    assert.equal(cause.type, 'AuthenticationFailed');
    assert.match(cause.message, new RegExp(`authentication failed for user "${role.user}" on 127\\.0\\.0\\.1:${config.db.port}`));
    assert.ok(!cause.message.includes(wrong), 'the password is not in the message');

    assert.deepEqual(await startedAttempts(env.client.workflow.getHandle(workflowId), 'waitForDatabase'), [1], 'one attempt, not retried');
  });

  it('fails at once, without retries, when pg_hba.conf turns the worker away, naming pg_hba.conf rather than the password', async () => {
    const config = testConfig({ DB_USER: testCluster().turnedAway, DB_PASSWORD: 'whatever-it-is' });
    const { workflowId, cause } = await failedBackupOfPostgres(config);
    assert.equal(cause.type, 'AuthenticationFailed', cause.message);
    assert.match(
      cause.message,
      new RegExp(`^the server at 127\\.0\\.0\\.1:${config.db.port} turns away DB_USER "${config.db.user}" from this worker's address \\(pg_hba\\.conf rejects connection for host "127\\.0\\.0\\.1", user "${config.db.user}", database "postgres"[^)]*\\); allow it in pg_hba\\.conf on the server \\(then reload the server\\), or check DB_HOST and DB_USER$`),
    );
    assert.deepEqual(await startedAttempts(env.client.workflow.getHandle(workflowId), 'waitForDatabase'), [1], 'one attempt, not retried');
  });

  it('fails at once, without retries, when no password is configured and the server demands one, naming DB_PASSWORD', async () => {
    // A worker process of its own with exactly these variables: the test's own PGPASSWORD must not help it.
    const { role } = testCluster();
    const config = testConfig({ DB_USER: role.user });
    const env_: Record<string, string> = { ...workerEnvironment(config), TEMPORAL_ADDRESS: env.address, LOG_LEVEL: 'info' };
    delete env_.DB_PASSWORD;
    const worker = await startWorkerWithEnv(env_);
    const workflowId = databaseWorkflowId(config.temporal.taskQueue, 'postgres');
    try {
      const err = await env.client.workflow
        .execute(backupDatabase, { args: [{ database: 'postgres' }], taskQueue: config.temporal.taskQueue, workflowId })
        .catch((e: unknown) => e);
      assert.ok(err instanceof WorkflowFailedError, String(err));
      const cause = rootFailure(err);
      assert.equal(cause.type, 'AuthenticationFailed', cause.message);
      assert.match(cause.message, new RegExp(`authentication failed for user "${role.user}" on 127\\.0\\.0\\.1:${config.db.port} .*check DB_USER and DB_PASSWORD`));
    } finally {
      await worker.stop();
    }
    assert.deepEqual(await startedAttempts(env.client.workflow.getHandle(workflowId), 'waitForDatabase'), [1], 'one attempt, not retried');
  });
});
