import assert from 'node:assert/strict';
import { Writable } from 'node:stream';
import { after, before, describe, it } from 'node:test';
import { Runtime } from '@temporalio/worker';
import { execFileSync } from 'node:child_process';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import { backupDatabase } from '../workflows/index.js';
import { createLogger, TemporalPinoLogger } from '../worker/logger.js';
import { testConfig, uniqueName } from './helpers/config.js';
import { dropDatabase, quoteIdent, seedDatabase, sql } from './helpers/postgres.js';
import { markRuntimeInstalled, startDevServer, temporalCliPath, withWorker } from './helpers/temporal.js';

const PASSWORD = `Pw-${uniqueName('secret')}`;

/** Every log line of the SDK, the worker and the activities, at debug level. */
const captured: string[] = [];
const sink = new Writable({
  write(chunk, _encoding, done) {
    captured.push(String(chunk));
    done();
  },
});

/** History as JSON from the Temporal CLI, plus every base64 payload decoded, so a secret cannot hide in an encoding. */
function historyText(address: string, workflowId: string): string {
  const json = execFileSync(temporalCliPath(), ['workflow', 'show', '--address', address, '--workflow-id', workflowId, '--output', 'json'], {
    encoding: 'utf8',
  });
  const decoded = [...json.matchAll(/"data":\s*"([A-Za-z0-9+/=]+)"/g)].map((m) => Buffer.from(m[1]!, 'base64').toString('utf8'));
  return json + '\n' + decoded.join('\n');
}

describe('secrets', () => {
  let env: TestWorkflowEnvironment;
  const role = uniqueName('pgk_role');
  const database = uniqueName('pgk_secret');
  const config = testConfig({ DB_USER: role, DB_PASSWORD: PASSWORD, LOG_LEVEL: 'debug' });

  before(async () => {
    Runtime.install({ logger: new TemporalPinoLogger(createLogger('debug', sink)) });
    markRuntimeInstalled();
    env = await startDevServer();
    await seedDatabase(config, database);
    await sql(config, 'postgres', `create role ${quoteIdent(role)} login password '${PASSWORD}'`);
    await sql(config, 'postgres', `grant pg_read_all_data to ${quoteIdent(role)}`);
  });
  after(async () => {
    await dropDatabase(config, database);
    await sql(config, 'postgres', `drop role if exists ${quoteIdent(role)}`);
    await env?.teardown();
  });

  it('the password reaches neither workflow history nor logs, in success or failure', async () => {
    const okId = uniqueName('ok');
    const failedId = uniqueName('failed');
    const missing = uniqueName('pgk_nope');
    await withWorker(env, config, async () => {
      const result = await env.client.workflow.execute(backupDatabase, {
        args: [{ database }],
        taskQueue: config.temporal.taskQueue,
        workflowId: okId,
      });
      assert.equal(result.status, 'completed');
      await assert.rejects(
        env.client.workflow.execute(backupDatabase, {
          args: [{ database: missing }],
          taskQueue: config.temporal.taskQueue,
          workflowId: failedId,
        }),
      );
    });

    for (const [id, marker] of [[okId, `${database}-`], [failedId, `does not exist on ${config.db.host}`]] as const) {
      const text = historyText(env.address, id);
      assert.ok(text.includes(marker), `history of ${id} is readable (contains ${marker})`); // so the next check can fail
      assert.ok(!text.includes(PASSWORD), `password found in history of ${id}`);
    }
    const logs = captured.join('');
    assert.ok(logs.includes(okId), 'logs were captured'); // the activity and workflow logs name the run
    assert.ok(!logs.includes(PASSWORD), 'password found in logs');
  });
});
