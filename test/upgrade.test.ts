/**
 * Workers upgraded while a run is in flight: the new version replays the run's history with its
 * own workflow code. Where that code differs, the run fails and says why, rather than retry its
 * workflow task forever while holding its database's workflow id (every later backup of the
 * database would then be skipped as busy).
 */
import assert from 'node:assert/strict';
import { fileURLToPath } from 'node:url';
import { after, before, describe, it } from 'node:test';
import { WorkflowFailedError } from '@temporalio/client';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import { bundleWorkflowCode } from '@temporalio/worker';
import { execa } from 'execa';
import { rootCauseMessage } from '../common/failure-message.js';
import { databaseWorkflowId } from '../common/names.js';
import { createWorker } from '../worker/create-worker.js';
import { backupDatabase } from '../workflows/index.js';
import { testConfig, uniqueName } from './helpers/config.js';
import { freePort } from './helpers/ports.js';
import { startDevServer, startWorker } from './helpers/temporal.js';

describe('workers upgraded while a run is in flight', () => {
  let env: TestWorkflowEnvironment;
  before(async () => {
    env = await startDevServer();
  });
  after(async () => {
    await env?.teardown();
  });

  it('a run replayed by workflow code that differs fails with a nondeterminism error, freeing its database for the next run', async () => {
    // A server that does not answer: the run waits in its first step, as a long backup would work.
    const config = testConfig({ DB_PORT: String(await freePort()) });
    const database = uniqueName('pgk_upgrade');
    const workflowId = databaseWorkflowId(config.temporal.taskQueue, database);
    const before = await startWorker(env, config, '1s');
    const handle = await before.runUntil(async () => {
      const started = await env.client.workflow.start(backupDatabase, { args: [{ database, waitTimeoutSeconds: 600 }], taskQueue: config.temporal.taskQueue, workflowId });
      // Until the run's first workflow task is done (its search attributes are there): its history is the old version's.
      for (let i = 0; i < 100 && !(await started.describe()).searchAttributes.PgkOperation; i++) await new Promise((r) => setTimeout(r, 100));
      return started;
    });

    const { code } = await bundleWorkflowCode({ workflowsPath: fileURLToPath(new URL('./fixtures/other-version-workflows.ts', import.meta.url)), logger: quiet });
    const upgraded = await createWorker({ config, connection: env.nativeConnection, shutdownGraceTime: '1s', workflowCode: code });
    const outcome = await upgraded.runUntil(async () => {
      await handle.signal('wake'); // a new workflow task, which the upgraded worker replays the history for
      // Without the worker's failure policy the run would retry its workflow task forever: bounded here.
      const stillRunning = new Promise((resolve) => setTimeout(() => resolve('still running after 30 s'), 30_000).unref());
      return Promise.race([handle.result().catch((err: unknown) => err), stillRunning]);
    });
    assert.ok(outcome instanceof WorkflowFailedError, String(outcome));
    assert.match(String(outcome.cause?.message), /Nondeterminism error/);
    // As `pgkeeper history` and the CLI say it.
    assert.match(rootCauseMessage(outcome), /^this run began under another pgkeeper version \(its workers were upgraded while it ran\) whose steps differ, so it was stopped where it was; start it again \(\[TMPRL1100\] Nondeterminism error/);
    assert.equal((await handle.describe()).status.name, 'FAILED', 'the run is closed: its workflow id is free for the next backup');
    // `pgkeeper history` says it failed and why, though the run never wrote its outcome.
    let history = '';
    for (let i = 0; i < 50 && !/this run began under another pgkeeper version/.test(history); i++) {
      history = (await execa(fileURLToPath(new URL('../bin/pgkeeper', import.meta.url)), ['history', database], { reject: false, env: { TEMPORAL_ADDRESS: env.address, TASK_QUEUE: config.temporal.taskQueue } })).stdout;
      await new Promise((r) => setTimeout(r, 200));
    }
    assert.match(history, new RegExp(`^\\S+ \\S+\\s+backup\\s+${database}\\s+manual\\s+failed\\s`, 'm'));
    assert.match(history, /this run began under another pgkeeper version \(its workers were upgraded while it ran\)/);
  });
});

const noop = () => undefined;
const quiet = { log: noop, trace: noop, debug: noop, info: noop, warn: noop, error: noop };
